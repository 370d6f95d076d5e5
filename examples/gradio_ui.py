"""A Gradio app over the Python API: text, a voice, optional reference clips, audio that streams.

    pip install auralis-core auralis-espeak gradio
    python examples/gradio_ui.py                                # eSpeak on http://127.0.0.1:7860
    python examples/gradio_ui.py --model /models/XTTS-v2        # XTTS-v2: reference upload appears

It listens on loopback only; pass ``--host 0.0.0.0`` to expose it (Gradio's share links stay off).
For the HTTP server's own page, see docs/playground.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from auralis_core import TTS, TTSRequest
from auralis_core.errors import AuralisError

AUTO = "auto"


def reference_voice(tts: TTS, references: Sequence[str]) -> str:
    """The clips as a named voice: conditioning is computed once per distinct set of clips and reused
    when the same clips come again (the name is their content hash)."""
    digest = hashlib.sha256()
    for path in references:
        digest.update(Path(path).read_bytes())
    name = f"upload-{digest.hexdigest()[:16]}"
    if name not in tts.voices:
        tts.register_voice(name, list(references))
    return name


def speak(tts: TTS, text: str, voice: str | None, language: str, references: Sequence[str] | None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(sample_rate, int16 samples)`` chunks as the engine makes them (Gradio plays them as they come).

    Reference clips, when given, clone a voice for the request and take the place of ``voice``."""
    if references:
        voice = reference_voice(tts, references)
    request = TTSRequest(text, voice=voice or None, language=language or AUTO, stream=True)
    for chunk in tts.stream(request):
        samples = np.clip(chunk.samples, -1.0, 1.0)
        yield chunk.sample_rate, (samples * 32767).astype(np.int16)


def build_app(tts: TTS):  # -> gr.Blocks (gradio is imported here so the module imports without it)
    """The Blocks UI around one loaded ``TTS``; the reference upload shows only for cloning engines."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: Gradio phones home unless told not to
    import gradio as gr

    caps = tts.capabilities

    def on_speak(text: str, voice: str | None, language: str, references: list[str] | None):
        if not text.strip():
            raise gr.Error("Type something to speak.")
        try:
            yield from speak(tts, text, voice, language, references)
        except AuralisError as exc:  # a bad voice, language or clip: say so in the UI
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="Auralis") as app:
        gr.Markdown(f"# Auralis · {tts.engine_name}\n{caps.description or ''}")
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(label="Text", lines=5, value="Hello! This is Auralis, streaming speech into Gradio.")
                voices = tts.list_voices()
                voice = gr.Dropdown(voices, value=caps.default_voice if caps.default_voice in voices else None,
                                    label="Voice", allow_custom_value=False)
                language = gr.Dropdown([AUTO, *caps.languages] if caps.auto_language else list(caps.languages),
                                       value=AUTO if caps.auto_language else caps.languages[0], label="Language")
                references = gr.File(label="Reference clips (clone a voice; overrides the voice)", file_count="multiple",
                                     file_types=["audio"], type="filepath", visible=caps.voice_cloning)
                button = gr.Button("Speak", variant="primary")
            with gr.Column():
                audio = gr.Audio(label="Speech", streaming=True, autoplay=True)
        button.click(on_speak, [text, voice, language, references], audio, api_name="speak")
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="checkpoint path or engine name (default: the default engine)")
    parser.add_argument("--engine", help="engine name, when --model alone does not pick it")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    args = parser.parse_args(argv)
    if importlib.util.find_spec("gradio") is None:
        raise SystemExit("this example needs Gradio: pip install gradio")
    tts = TTS.from_pretrained(args.model, engine=args.engine)
    try:
        build_app(tts).launch(server_name=args.host, server_port=args.port, share=False)
    finally:
        tts.shutdown()


if __name__ == "__main__":
    main()
