"""Configuration of the clean-up applied to speaker reference audio before conditioning."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import InvalidRequestError


@dataclass(frozen=True)
class AudioPreprocessingConfig:
    """What to do to reference audio before an engine sees it.

    - ``normalize``: bring integrated loudness (ITU-R BS.1770, pyloudnorm) to ``target_lufs``,
      peaks held at or below -1 dBFS.
    - ``trim_silence``: cut leading/trailing audio quieter than ``trim_threshold_db`` relative
      to the loudest 5 ms (5 ms kept on each side).
    - ``noise_reduction``: spectral (STFT Wiener) noise reduction with the noise profile taken
      from the quietest frames; up to 20 dB of attenuation.
    - ``enhance_speech``: 70 Hz high-pass (rumble, hum, DC) plus a -3 dB cut at 200 Hz and a
      +4 dB presence lift at 3.5 kHz, both scaled by ``enhance_amount`` in [0, 1].

    Order: enhance -> noise reduction -> trim -> normalize. The processing itself lives in
    :mod:`auralis_core.audio.enhance`; engines receive audio that already went through it, so
    every engine benefits from the same clean-up. Results are cached by audio content + config.
    """

    normalize: bool = True
    target_lufs: float = -23.0
    trim_silence: bool = True
    trim_threshold_db: float = -40.0
    noise_reduction: bool = False
    enhance_speech: bool = False
    enhance_amount: float = 1.0

    def __post_init__(self) -> None:
        if not -70.0 <= self.target_lufs <= 0.0:
            raise InvalidRequestError(
                f"target_lufs must be between -70 and 0 LUFS, got {self.target_lufs}", "target_lufs"
            )
        if not -120.0 <= self.trim_threshold_db < 0.0:
            raise InvalidRequestError(
                f"trim_threshold_db must be negative dBFS (>= -120), got {self.trim_threshold_db}",
                "trim_threshold_db",
            )
        if not 0.0 <= self.enhance_amount <= 1.0:
            raise InvalidRequestError(
                f"enhance_amount must be in [0, 1], got {self.enhance_amount}", "enhance_amount"
            )

    def cache_key(self) -> str:
        return repr(sorted(asdict(self).items()))

    @classmethod
    def disabled(cls) -> AudioPreprocessingConfig:
        return cls(normalize=False, trim_silence=False, noise_reduction=False, enhance_speech=False)
