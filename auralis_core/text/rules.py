"""pysbd rule sets for the languages an Auralis engine declares that pysbd does not ship.

pysbd (a port of the Pragmatic Segmenter) covers 23 languages. XTTS-v2 also speaks Portuguese,
Turkish, Czech, Hungarian and Korean; for those this module adds rule sets built from pysbd's own
building blocks (`Common` + `Standard`), with each language's common abbreviations. Every other
language (eSpeak's long tail) gets `Neutral`: pysbd's language-independent rules (decimals, times,
initials, dotted abbreviations like "p.m.", ellipses, quotes) and no word list, so that no
English abbreviation turns a real sentence end of another language into a non-break.
"""

from __future__ import annotations

from typing import ClassVar

from pysbd.abbreviation_replacer import AbbreviationReplacer
from pysbd.lang.common import Common, Standard


def _abbreviations(words: str, prepositive: str = "", number: str = "") -> type:
    """A pysbd ``Abbreviation`` table (lower case, without the final dot)."""

    class Abbreviation(Standard.Abbreviation):
        # pysbd only looks up the other two lists for words found in this one
        ABBREVIATIONS: ClassVar[list[str]] = list(dict.fromkeys((words + " " + prepositive + " " + number).split()))
        PREPOSITIVE_ABBREVIATIONS: ClassVar[list[str]] = prepositive.split()
        NUMBER_ABBREVIATIONS: ClassVar[list[str]] = number.split()

    return Abbreviation


class _NoStarters(AbbreviationReplacer):
    # English-only heuristic in pysbd ("U.S. The ..."); off for the other languages.
    SENTENCE_STARTERS: ClassVar[list[str]] = []


def _rule_set(name: str, iso_code: str, words: str, prepositive: str = "", number: str = "") -> type:
    """A pysbd language module: pysbd's common rules with this abbreviation table."""
    attributes = {"iso_code": iso_code, "AbbreviationReplacer": _NoStarters,
                  "Abbreviation": _abbreviations(words, prepositive, number)}
    return type(name, (Common, Standard), attributes)


# Language-independent rules: only the near-universal titles as abbreviation words.
Neutral = _rule_set("Neutral", "xx", "dr prof", prepositive="dr prof")
# Korean writes sentence ends as Latin scripts do ('. ', '? ', '! ') and abbreviates little.
Korean = _rule_set("Korean", "ko", "")
Portuguese = _rule_set(
    "Portuguese", "pt",
    "sr sra srta srs sras dr dra drs dras prof profa eng enga arq av r pç lgo trav sto sta "
    "jan fev mar abr mai jun jul ago set out nov dez seg ter qua qui sex sáb dom "
    "pág págs cap vol ed obs etc ex exa exmo exma v.exa ltda cia apto tel séc núm",
    prepositive="sr sra srta dr dra prof profa eng enga sto sta exmo exma av r",
    number="n nº núm pág págs cap vol art",
)
Turkish = _rule_set(
    "Turkish", "tr",
    "dr doç prof yrd av müh öğr gör sn bkz vb vs vd örn yy mad md no nr s sf tel cad sok mah "
    "apt blv ş.t.ş hz alb yzb ütğm tğm bnb kur gen oramiral",
    prepositive="dr doç prof yrd av müh sn hz alb yzb tğm bnb",
    number="no nr s sf mad md",
)
Czech = _rule_set(
    "Czech", "cs",
    "atd apod např tzv tj resp mj aj popř př čs č str odst písm sb ing mgr bc doc prof mudr "
    "judr phdr rndr paeddr csc drsc ph.d p pí sl tel ul nám hod min sek ml st vl zvl "
    "led ún bř dub kv čvn čvc srp zář říj lis pros s.r.o a.s spol",
    prepositive="ing mgr bc doc prof mudr judr phdr rndr paeddr p pí sl ul nám",
    number="č str odst písm sb",
)
Hungarian = _rule_set(
    "Hungarian", "hu",
    "dr prof id ifj özv pl stb ill ún kb vö uo ld sz tel krt u út ker em fszt "
    "jan febr márc ápr máj jún júl aug szept okt nov dec hétf ked szer csüt pént szomb vas "
    "kft zrt bt nyrt rt",
    prepositive="dr prof id ifj özv",
    number="sz u",
)
Swedish = _rule_set(
    "Swedish", "sv",
    "dr prof kl bl.a t.ex m.m osv o.s.v dvs d.v.s ca resp s sid tel nr st jfr f.d fr.o.m t.o.m",
    prepositive="dr prof",
    number="kl nr s sid",
)

OWN_RULES: dict[str, type] = {
    "pt": Portuguese, "tr": Turkish, "cs": Czech, "hu": Hungarian, "ko": Korean, "sv": Swedish,
}

# Additions to pysbd's own lists: (abbreviations, prepositive, number).
EXTRA: dict[str, tuple[str, str, str]] = {
    "es": ("avda av núm pág sra srta dña lic ing", "sr sra srta dr dra d dña lic ing prof avda av", "núm n nº pág art"),
    "fr": ("mme mlle me pr", "dr mme mlle me pr", "no n° p"),
    "it": ("sig sig.ra dott dott.ssa avv ing", "sig sig.ra dott dott.ssa prof avv ing", "n pag art"),
    "pl": ("godz inż mgr", "prof dr inż mgr ul al", "nr godz"),
    "nl": ("mevr dhr ir drs blz", "mevr dhr mr dr ir ing prof drs", "nr blz"),
    "de": ("str", "", "str nr"),
}


def extended(base: type, language: str) -> type:
    """``base`` (a pysbd rule set) with `EXTRA`'s words for ``language`` added, if any."""
    if language not in EXTRA:
        return base
    words, prepositive, number = EXTRA[language]
    table = base.Abbreviation

    class Abbreviation(table):  # type: ignore[misc, valid-type]
        ABBREVIATIONS: ClassVar[list[str]] = list(
            dict.fromkeys([*table.ABBREVIATIONS, *(words + " " + prepositive + " " + number).split()])
        )
        PREPOSITIVE_ABBREVIATIONS: ClassVar[list[str]] = [*table.PREPOSITIVE_ABBREVIATIONS, *prepositive.split()]
        NUMBER_ABBREVIATIONS: ClassVar[list[str]] = [*table.NUMBER_ABBREVIATIONS, *number.split()]

    return type(base.__name__, (base,), {"Abbreviation": Abbreviation})
