"""Configuration of the XTTS-v2 model, read from Coqui's ``config.json`` (``model_args``).

One dataclass per sub-model: `XTTSGPTConfig` (GPT + conditioning), `HifiganConfig` (decoder and
speaker encoder) and `XTTSConfig` (both, plus languages and Coqui's default sampling settings).
Defaults are the released XTTS-v2 sizes, so a partial config behaves like the public model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from auralis_core.errors import EngineLoadError

XTTS_LANGUAGES = (
    "en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi",
)


@dataclass
class XTTSGPTConfig:
    """The autoregressive GPT, its conditioning encoder and perceiver resampler."""

    layers: int = 30
    hidden_size: int = 1024
    num_heads: int = 16
    number_text_tokens: int = 6681
    start_text_token: int = 261
    stop_text_token: int = 0
    num_audio_tokens: int = 1026
    start_audio_token: int = 1024
    stop_audio_token: int = 1025
    max_audio_tokens: int = 605  # Coqui gpt_max_audio_tokens
    max_text_tokens: int = 402  # Coqui gpt_max_text_tokens
    max_prompt_tokens: int = 70
    code_stride_len: int = 1024  # waveform samples (22.05 kHz) per audio code
    use_perceiver_resampler: bool = True
    layer_norm_epsilon: float = 1e-5
    mel_channels: int = 80
    # Hard-coded in Coqui's GPT: conditioning encoder depth and the perceiver geometry.
    cond_encoder_attn_blocks: int = 6
    num_cond_latents: int = 32
    perceiver_depth: int = 2
    perceiver_heads: int = 8
    perceiver_dim_head: int = 64
    perceiver_ff_mult: int = 4

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise EngineLoadError(
                f"gpt hidden size {self.hidden_size} is not divisible by its {self.num_heads} heads"
            )
        if not self.use_perceiver_resampler:
            raise EngineLoadError(
                "XTTS v1 checkpoints (gpt_use_perceiver_resampler=false) are not supported; use XTTS-v2"
            )
        for name in ("start_audio_token", "stop_audio_token"):
            if not 0 <= getattr(self, name) < self.num_audio_tokens:
                raise EngineLoadError(f"{name}={getattr(self, name)} outside the {self.num_audio_tokens} audio tokens")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def max_mel_positions(self) -> int:
        """Rows of ``mel_pos_embedding``: Coqui adds start/stop plus one conditioning input."""
        return self.max_audio_tokens + 3

    @property
    def max_text_positions(self) -> int:
        """Rows of ``text_pos_embedding``: the text plus [START]/[STOP]."""
        return self.max_text_tokens + 2

    @property
    def max_generated_tokens(self) -> int:
        """Coqui's ``max_gen_mel_tokens``: the most codes one generate call produces (stop included)."""
        return self.max_audio_tokens - 3


@dataclass
class HifiganConfig:
    """HiFi-GAN decoder conditioned on a speaker embedding, plus the ResNet speaker encoder.

    Coqui hard-codes most of these in ``HifiDecoder``; the loader also reads the channel/filter
    sizes from the checkpoint's tensor shapes, so smaller decoders load too.
    """

    input_sample_rate: int = 22050
    output_sample_rate: int = 24000
    output_hop_length: int = 256
    ar_mel_length_compression: int = 1024
    decoder_input_dim: int = 1024
    d_vector_dim: int = 512
    cond_d_vector_in_each_upsampling_layer: bool = True
    upsample_initial_channel: int = 512
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    # ResNet speaker encoder (H/ASP) and its 16 kHz mel front-end.
    speaker_encoder_layers: tuple[int, ...] = (3, 4, 6, 3)
    speaker_encoder_num_filters: tuple[int, ...] = (32, 64, 128, 256)
    speaker_encoder_input_dim: int = 64
    speaker_encoder_sample_rate: int = 16000
    speaker_encoder_n_fft: int = 512
    speaker_encoder_win_length: int = 400
    speaker_encoder_hop_length: int = 160
    speaker_encoder_preemphasis: float = 0.97

    def __post_init__(self) -> None:
        self.upsample_rates = tuple(self.upsample_rates)
        self.upsample_kernel_sizes = tuple(self.upsample_kernel_sizes)
        self.resblock_kernel_sizes = tuple(self.resblock_kernel_sizes)
        self.resblock_dilation_sizes = tuple(tuple(d) for d in self.resblock_dilation_sizes)
        self.speaker_encoder_layers = tuple(self.speaker_encoder_layers)
        self.speaker_encoder_num_filters = tuple(self.speaker_encoder_num_filters)
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes):
            raise EngineLoadError("hifigan upsample_rates and upsample_kernel_sizes differ in length")
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise EngineLoadError("hifigan resblock_kernel_sizes and resblock_dilation_sizes differ in length")


@dataclass
class XTTSConfig:
    """Everything needed to build `XTTSModel`, plus the checkpoint's default sampling settings."""

    gpt: XTTSGPTConfig = field(default_factory=XTTSGPTConfig)
    hifigan: HifiganConfig = field(default_factory=HifiganConfig)
    languages: tuple[str, ...] = XTTS_LANGUAGES
    # Coqui's inference defaults (top level of config.json).
    temperature: float = 0.75
    length_penalty: float = 1.0
    repetition_penalty: float = 10.0
    top_k: int = 50
    top_p: float = 0.85
    gpt_cond_len: int = 30
    gpt_cond_chunk_len: int = 4
    max_ref_len: int = 30
    sound_norm_refs: bool = False

    @property
    def sample_rate(self) -> int:
        return self.hifigan.output_sample_rate

    def option_defaults(self) -> dict[str, Any]:
        """This checkpoint's inference settings under `XTTSOptions` names (what a request that
        sets none of them gets; sampling stays on, Coqui's ``inference`` default)."""
        return {
            "temperature": self.temperature, "top_k": self.top_k, "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty, "length_penalty": self.length_penalty,
            "max_ref_length": self.max_ref_len, "gpt_cond_len": self.gpt_cond_len,
            "gpt_cond_chunk_len": self.gpt_cond_chunk_len,
        }

    # --- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["languages"] = list(self.languages)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> XTTSConfig:
        """Our own layout (what `to_dict` writes)."""
        try:
            gpt = XTTSGPTConfig(**_known(XTTSGPTConfig, d.get("gpt", {})))
            hifi = HifiganConfig(**_known(HifiganConfig, d.get("hifigan", {})))
            top = _known(cls, d, skip=("gpt", "hifigan"))
        except TypeError as e:
            raise EngineLoadError(f"invalid XTTS config: {e}") from e
        if "languages" in top:
            top["languages"] = tuple(top["languages"])
        return cls(gpt=gpt, hifigan=hifi, **top)

    @classmethod
    def from_coqui(cls, d: dict[str, Any]) -> XTTSConfig:
        """Coqui's ``config.json`` (an ``XttsConfig`` dump with ``model_args``)."""
        args = d.get("model_args")
        if not isinstance(args, dict):
            raise EngineLoadError("config.json has no 'model_args' section: not a Coqui XTTS config")
        gpt_map = {
            "gpt_layers": "layers", "gpt_n_model_channels": "hidden_size", "gpt_n_heads": "num_heads",
            "gpt_number_text_tokens": "number_text_tokens", "gpt_start_text_token": "start_text_token",
            "gpt_stop_text_token": "stop_text_token", "gpt_num_audio_tokens": "num_audio_tokens",
            "gpt_start_audio_token": "start_audio_token", "gpt_stop_audio_token": "stop_audio_token",
            "gpt_max_audio_tokens": "max_audio_tokens", "gpt_max_text_tokens": "max_text_tokens",
            "gpt_max_prompt_tokens": "max_prompt_tokens", "gpt_code_stride_len": "code_stride_len",
            "gpt_use_perceiver_resampler": "use_perceiver_resampler",
        }
        gpt_kw = {ours: args[theirs] for theirs, ours in gpt_map.items() if args.get(theirs) is not None}
        hifi_kw = {k: args[k] for k in ("input_sample_rate", "output_sample_rate", "output_hop_length",
                                        "decoder_input_dim", "d_vector_dim",
                                        "cond_d_vector_in_each_upsampling_layer") if args.get(k) is not None}
        if "gpt_code_stride_len" in args:
            hifi_kw["ar_mel_length_compression"] = args["gpt_code_stride_len"]
        top = {k: d[k] for k in ("temperature", "length_penalty", "repetition_penalty", "top_k", "top_p",
                                 "gpt_cond_len", "gpt_cond_chunk_len", "max_ref_len", "sound_norm_refs")
               if d.get(k) is not None}
        if d.get("languages"):
            top["languages"] = tuple(d["languages"])
        return cls(gpt=XTTSGPTConfig(**gpt_kw), hifigan=HifiganConfig(**hifi_kw), **top)

    @classmethod
    def from_astramind(cls, core: dict[str, Any], gpt: dict[str, Any] | None = None) -> XTTSConfig:
        """AstraMindAI's converted layout: core ``config.json`` (with ``gpt_config``) and the GPT repo's."""
        g = dict(core.get("gpt_config") or {})
        g.update(gpt or {})
        gpt_map = {
            "num_hidden_layers": "layers", "hidden_size": "hidden_size", "num_attention_heads": "num_heads",
            "number_text_tokens": "number_text_tokens", "start_text_token": "start_text_token",
            "stop_text_token": "stop_text_token", "num_audio_tokens": "num_audio_tokens",
            "start_audio_token": "start_audio_token", "stop_audio_token": "stop_audio_token",
            "max_audio_tokens": "max_audio_tokens", "max_text_tokens": "max_text_tokens",
            "max_prompt_tokens": "max_prompt_tokens", "use_perceiver_resampler": "use_perceiver_resampler",
            "layer_norm_epsilon": "layer_norm_epsilon",
        }
        gpt_kw = {ours: g[theirs] for theirs, ours in gpt_map.items() if g.get(theirs) is not None}
        if core.get("gpt_code_stride_len") is not None:
            gpt_kw["code_stride_len"] = core["gpt_code_stride_len"]
        hifi_kw = {k: core[k] for k in ("input_sample_rate", "output_sample_rate", "output_hop_length",
                                        "decoder_input_dim", "d_vector_dim",
                                        "cond_d_vector_in_each_upsampling_layer") if core.get(k) is not None}
        if core.get("gpt_code_stride_len") is not None:
            hifi_kw["ar_mel_length_compression"] = core["gpt_code_stride_len"]
        top: dict[str, Any] = {}
        if core.get("languages"):
            top["languages"] = tuple(core["languages"])
        return cls(gpt=XTTSGPTConfig(**gpt_kw), hifigan=HifiganConfig(**hifi_kw), **top)


def _known(cls: type, d: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    names = {f.name for f in fields(cls)} - set(skip)
    return {k: v for k, v in d.items() if k in names}
