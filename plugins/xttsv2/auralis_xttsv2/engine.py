"""`XTTSv2Engine`: XTTS-v2 behind the Auralis two-phase contract.

Phase 1 resolves the voice to conditioning (registered voice, built-in speaker, or reference audio
through a content-hash cache), detects the language if asked, and cuts the text into segments of
token ids. Phase 2 submits a segment to the generation backend, where it shares decode steps with
every other segment in flight, and turns its latents into audio with the streaming HiFi-GAN
decoder (windows of ``stream_chunk_tokens`` codes when streaming; otherwise one decode at the end,
or windows of ``decode_ahead_tokens`` codes joined at the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import torch
from pydantic import ValidationError

from auralis_core import (
    BaseAsyncTTSEngine,
    EngineCapabilities,
    GenerationContext,
    SegmentWorkItem,
    TTSOutput,
    TTSRequest,
    VoiceNotFoundError,
)
from auralis_core.engine.base import ConditioningConfig
from auralis_core.errors import EngineLoadError, InvalidRequestError
from auralis_core.voices import VoiceProfile

from .backend import GenerationBackend, GenerationRequest, TorchBackend, resolve_backend
from .backend.vllm_settings import VLLMSettings
from .batching import MicroBatcher
from .checkpoint import LoadedCheckpoint, load_checkpoint
from .model.sampling import SamplingParams
from .model.xtts import GPT_SAMPLE_RATE
from .options import XTTSOptions
from .plugin import CAPABILITIES
from .streaming import DecodeWindow, StreamingDecoder, vocode
from .voices import ConditioningCache, XTTSConditioning

DEFAULT_REPO = "coqui/XTTS-v2"
OUTPUT_SAMPLE_RATE = 24000


class XTTSv2Engine(BaseAsyncTTSEngine):
    capabilities = CAPABILITIES
    Options = XTTSOptions
    conditioning_config = ConditioningConfig(uses_speaker_reference=True, reference_sample_rate=GPT_SAMPLE_RATE)

    def __init__(
        self,
        checkpoint: LoadedCheckpoint,
        backend: str = "auto",
        max_batch_size: int = 8,
        stream_chunk_tokens: int = 24,
        stream_context_frames: int = 48,
        stream_first_chunk_tokens: int | None = None,
        conditioning_cache_size: int = 64,
        batch_invariant: bool = False,
        vllm_memory: float | int | None = None,
        vllm_enforce_eager: bool = False,
        vllm_attention_backend: str | None = None,
        vllm_engines: int = 1,
        vllm_max_batched_tokens: int = 8192,
        vocoder_max_frames: int = 8192,
        decode_ahead_tokens: int = 0,
    ) -> None:
        """Wrap a loaded checkpoint. ``backend`` is ``"torch"``, ``"vllm"`` or ``"auto"`` (vLLM when
        the model is on CUDA and vLLM is installed). ``max_batch_size`` bounds the sequences sharing
        one decode step; ``stream_chunk_tokens`` is the audio-code count per streamed chunk (~46 ms
        of audio each) and ``stream_context_frames`` the HiFi-GAN frames of context decoded on each
        side of a streamed window (exactness at seams vs. cost); ``stream_first_chunk_tokens`` (default:
        ``stream_chunk_tokens``) makes the first window smaller, for earlier first audio (audio needs
        more than the decoder's 4 held-back codes). ``batch_invariant=True`` (torch backend)
        makes a request's codes independent of the requests it shares steps with, bit for bit, at a
        cost in speed. ``vllm_memory`` sizes vLLM's KV pool: a fraction of the GPU
        (``gpu_memory_utilization``) or bytes (see `VLLMSettings`), split over ``vllm_engines`` engines
        that share the GPU and the sequences (throughput at hundreds of streams); ``vllm_max_batched_tokens`` is
        the prompt positions one vLLM step may prefill. ``vocoder_max_frames`` bounds the
        HiFi-GAN frames decoded in one call (8192 frames: ~9 segments of 9 s, ~0.7 GB of bfloat16
        activations), so the memory audio decoding takes does not grow with the number of streams.
        ``decode_ahead_tokens`` (0: off) decodes a non-streamed segment's audio in windows of that
        many codes while the GPT still generates, as streaming does, and hands it out whole at the
        end: HiFi-GAN then overlaps decoding instead of following it (docs/xttsv2-vllm.md)."""
        from .text import TextPipeline, XTTSTokenizer

        if stream_chunk_tokens < 1 or stream_context_frames < 0:
            raise InvalidRequestError("stream_chunk_tokens must be >= 1 and stream_context_frames >= 0", "stream_chunk_tokens")
        if vocoder_max_frames < 1:
            raise InvalidRequestError(f"vocoder_max_frames must be >= 1, got {vocoder_max_frames}", "vocoder_max_frames")
        if decode_ahead_tokens < 0:
            raise InvalidRequestError(f"decode_ahead_tokens must be >= 0 (0: off), got {decode_ahead_tokens}",
                                      "decode_ahead_tokens")
        self.decode_ahead_tokens = decode_ahead_tokens
        if stream_first_chunk_tokens is not None and stream_first_chunk_tokens < 1:
            raise InvalidRequestError(f"stream_first_chunk_tokens must be >= 1, got {stream_first_chunk_tokens}",
                                      "stream_first_chunk_tokens")
        self.stream_first_chunk_tokens = stream_first_chunk_tokens or stream_chunk_tokens
        self.checkpoint = checkpoint
        self.model = checkpoint.model.eval()
        self.config = checkpoint.config
        self.text = TextPipeline(XTTSTokenizer(checkpoint.vocab_path), max_text_tokens=self.config.gpt.max_text_tokens)
        self.stream_chunk_tokens = stream_chunk_tokens
        self.stream_context_frames = stream_context_frames
        self.conditioning = ConditioningCache(self.model, size=conditioning_cache_size)
        self.speakers = {
            name: XTTSConditioning(s.gpt_cond_latent.float(), s.speaker_embedding.float())
            for name, s in (checkpoint.speakers or {}).items()
        }
        try:
            self._default_options = XTTSOptions(**self.config.option_defaults())
        except ValidationError as exc:
            raise EngineLoadError(f"the checkpoint's config.json has inference settings XTTS cannot use: {exc}") from None
        names = tuple(sorted(self.speakers))
        self._capabilities = dataclasses.replace(
            CAPABILITIES, voices=names, default_voice=names[0] if names else None, native_speed=True
        )
        vllm_settings = VLLMSettings(vllm_memory, vllm_enforce_eager, vllm_attention_backend,
                                     engines=vllm_engines, max_batched_tokens=vllm_max_batched_tokens)  # checked first
        self.backend_name = resolve_backend(backend, self.model.device)
        self.backend: GenerationBackend = self._make_backend(
            self.backend_name, max_batch_size, batch_invariant, vllm_settings
        )
        # HiFi-GAN and the encoders run here, beside the GPT worker thread, off the event loop
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="auralis-xtts-decode")
        # streamed windows of concurrent requests with equal length share HiFi-GAN calls on a GPU,
        # of at most ``vocoder_max_frames`` frames each (what bounds their activations). Not on CPU:
        # there a batch of 8 windows costs twice the CPU time of 8 single calls (measured, real-size
        # HiFi-GAN, 60 codes, one thread: 21 s vs 10.5 s; the activations outgrow the caches).
        on_cpu = self.model.device.type == "cpu"
        self.vocoder_max_frames = vocoder_max_frames
        self.vocoder: MicroBatcher[DecodeWindow, torch.Tensor] = MicroBatcher(
            lambda windows: vocode(self.model, windows, max_frames=self.vocoder_max_frames), self._executor,
            key=lambda w: w.length, max_batch=1 if on_cpu else max(64, max_batch_size),
        )

    def _make_backend(self, name: str, max_batch_size: int, batch_invariant: bool,
                      settings: VLLMSettings) -> GenerationBackend:
        if name == "vllm":
            from .backend.vllm_backend import VLLMBackend

            return VLLMBackend(self.model, max_batch_size=max_batch_size, settings=settings)
        return TorchBackend(self.model, max_batch_size=max_batch_size, batch_invariant=batch_invariant)

    @classmethod
    def from_pretrained(
        cls,
        model_name_or_path: str | None = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        gpt_path: str | None = None,
        revision: str | None = None,
        gpt_model: str | None = None,
        **kwargs: Any,
    ) -> XTTSv2Engine:
        """Load a Coqui, AstraMindAI or converted checkpoint from a directory or a hub id.

        ``device`` defaults to CUDA when present; ``dtype`` to float32 (float16/bfloat16 run the
        GPT and HiFi-GAN in half precision). Other keywords go to `XTTSv2Engine.__init__`
        (``backend``, ``max_batch_size``, ``stream_chunk_tokens``, ...). ``gpt_model`` is the
        original Auralis's name for ``gpt_path``.
        """
        if gpt_model is not None:
            if gpt_path is not None and gpt_path != gpt_model:
                raise InvalidRequestError("pass gpt_path or gpt_model (its old name), not both", "gpt_model")
            gpt_path = gpt_model
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        ckpt = load_checkpoint(
            model_name_or_path or DEFAULT_REPO, device=device, dtype=dtype, gpt_path=gpt_path, revision=revision
        )
        return cls(ckpt, **kwargs)

    # --- facts ---------------------------------------------------------------------------------
    def get_capabilities(self) -> EngineCapabilities:
        return self._capabilities

    def list_voices(self) -> tuple[str, ...]:
        return self._capabilities.voices

    # --- voices --------------------------------------------------------------------------------
    async def _conditioning_for(self, request: TTSRequest) -> XTTSConditioning:
        if request.voice_profile is not None:
            return XTTSConditioning.from_profile(request.voice_profile, self.config.gpt.hidden_size)
        if request.speaker_files:
            o = _options(request)
            references = await request.load_speaker_audio(GPT_SAMPLE_RATE, max_seconds=o.max_ref_length)
            return await self._run(
                self.conditioning.compute, references, o.gpt_cond_len, o.gpt_cond_chunk_len, o.max_ref_length,
            )
        voice = request.voice or self._capabilities.default_voice
        if voice is None:
            raise InvalidRequestError(
                "XTTS-v2 speaks in a cloned voice: pass speaker_files (reference audio) or a registered voice",
                "voice",
            )
        if voice not in self.speakers:
            raise VoiceNotFoundError(voice, self.speakers)
        return self.speakers[voice]

    async def create_voice(self, name: str, request: TTSRequest) -> VoiceProfile:
        if not request.speaker_files:
            raise InvalidRequestError("creating a voice needs reference audio (speaker_files)", "speaker_files")
        conditioning = await self._conditioning_for(request.copy(voice_profile=None))
        return conditioning.to_profile(name, references=str(len(request.speaker_files)))

    # --- phase 1 -------------------------------------------------------------------------------
    def default_options(self) -> XTTSOptions:
        """The checkpoint's settings (``config.json``), sampling on (Coqui's ``inference`` default)."""
        return self._default_options

    def sampling_params(self, request: TTSRequest) -> SamplingParams:
        """The request's (validated) sampling options as the sampler takes them."""
        return SamplingParams.from_options(_options(request))

    async def get_generation_context(self, request: TTSRequest) -> GenerationContext:
        params = self.sampling_params(request)
        conditioning = await self._conditioning_for(request)
        segments = []  # TextPipeline.prepare raises rather than return nothing to speak
        for text in request.texts():
            prepared = await self._run(self.text.prepare, text, request.language)
            segments.extend(prepared)
        items = [
            SegmentWorkItem(request.request_id, i, seg.text, seg.language, payload=seg.token_ids)
            for i, seg in enumerate(segments)
        ]
        return GenerationContext(request, items, conditioning=conditioning, sample_rate=OUTPUT_SAMPLE_RATE,
                                 metadata={"sampling": params})

    # --- phase 2 -------------------------------------------------------------------------------
    async def process_tokens_to_speech(self, item: SegmentWorkItem, context: GenerationContext) -> AsyncIterator[TTSOutput]:
        request = context.request
        conditioning: XTTSConditioning = context.conditioning
        params: SamplingParams = context.metadata["sampling"]
        options = _options(request)
        # windows of codes: streamed audio, or (decode ahead) a non-streamed segment's audio made
        # while its codes still come and handed out whole at the end; 0: one window at the end
        every, first = ((self.stream_chunk_tokens, self.stream_first_chunk_tokens) if request.stream
                        else (self.decode_ahead_tokens, self.decode_ahead_tokens))
        generation = GenerationRequest(
            conditioning.gpt_cond_latents,
            torch.tensor(item.payload, dtype=torch.long),
            params,
            max_new_tokens=options.max_new_tokens,
            seed=None if request.seed is None else request.seed + item.index,
            stream_every=every,
            stream_first=first,
            ignore_stop=options.ignore_stop,
        )
        decoder = StreamingDecoder(
            self.model, conditioning.speaker_embedding, chunk_codes=every or self.stream_chunk_tokens,
            context_frames=self.stream_context_frames, first_chunk_codes=first, speed=request.speed,
        )
        # aclosing: a consumer that stops listening cancels the sequence now, not at garbage collection
        unreported: list[int] = []  # codes whose audio has not been handed out yet
        pending: list[torch.Tensor] = []  # their audio
        async with contextlib.aclosing(self.backend.generate(generation)) as chunks:
            async for chunk in chunks:
                unreported += chunk.codes.tolist()
                audio = await self._vocode(decoder, chunk.hidden_states, chunk.finished)
                if audio is not None and audio.numel():
                    pending.append(audio)
                if pending and (request.stream or chunk.finished):
                    samples = pending[0] if len(pending) == 1 else torch.cat(pending)
                    yield TTSOutput(samples.numpy(), OUTPUT_SAMPLE_RATE,
                                    metadata={"codes": len(unreported), "audio_codes": unreported})
                    unreported, pending = [], []

    async def _vocode(self, decoder: StreamingDecoder, hidden: torch.Tensor, final: bool) -> torch.Tensor | None:
        window = await self._run(decoder.plan, hidden, final)
        if not isinstance(window, DecodeWindow):
            return window
        return decoder.finish(window, await self.vocoder.submit(window))

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def shutdown(self) -> None:
        await self.backend.shutdown()
        self._executor.shutdown(wait=True, cancel_futures=True)


def _options(request: TTSRequest) -> XTTSOptions:
    """The request's options, validated by the core against `XTTSv2Engine.default_options`."""
    return cast(XTTSOptions, request.options)
