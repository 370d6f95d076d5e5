"""XTTS-v2's GPT as an out-of-tree vLLM model.

Nothing here imports vLLM at package import time: `plugin.register` is the ``vllm.general_plugins``
entry point, `model` holds the vLLM model class (imported by vLLM's registry on first use),
`export` writes the model directory vLLM loads, `positions` the mel-position convention and
`requests` the prompt and sampling mapping.
"""

ARCHITECTURE = "XttsGPT"
"""The ``architectures`` name in the exported ``config.json`` that the registry maps to our class."""
