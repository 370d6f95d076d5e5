// The playground page: loads what the server offers, speaks with streaming playback, clones voices.

import { ApiError, apiFetch, getJSON, getKey, setKey } from "./api.js";
import { CloneForm } from "./clone.js";
import { clearErrors, showError } from "./errors.js";
import {
  MediaSourcePlayer, PcmDecoder, StreamPlayer, WavDecoder, decodeEncoded, mediaSourceType, wavBlob,
} from "./player.js";
import { drawWaveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const FORM_STORAGE = "auralis.playground.form";
const ENCODED_TYPES = { mp3: "audio/mpeg", aac: "audio/aac" }; // the ones MediaSource may stream
const streams = (format) => format === "pcm" || format === "wav" || Boolean(mediaSourceType(ENCODED_TYPES[format]));
const EXTENSIONS = { mp3: "mp3", opus: "opus", aac: "aac", flac: "flac", wav: "wav", pcm: "wav" };

const state = { caps: null, run: null, downloadUrl: null };
// What the last request produced, for people poking at the page from the console (and the tests).
window.playground = { lastAudio: null, state };

// ---- form state that survives reloads and errors -------------------------------------------------
function saveForm() {
  const form = {};
  for (const id of ["model", "voice", "language", "format", "speed", "text"]) form[id] = $(id).value;
  localStorage.setItem(FORM_STORAGE, JSON.stringify(form));
}

function savedForm() {
  try { return JSON.parse(localStorage.getItem(FORM_STORAGE) || "{}"); } catch { return {}; }
}

// Options (plain or in {group, options}) into a <select>; keeps the first of `wanted` that is offered.
function fillSelect(select, options, ...wanted) {
  const candidates = [...wanted, select.value];
  select.replaceChildren();
  for (const item of options) {
    if (item.group) {
      const group = document.createElement("optgroup");
      group.label = item.group;
      for (const o of item.options) group.append(new Option(o.label, o.value));
      if (item.options.length) select.append(group);
    } else {
      select.append(new Option(item.label, item.value));
    }
  }
  const values = new Set([...select.options].map((o) => o.value));
  const chosen = candidates.find((v) => v && values.has(v));
  if (chosen) select.value = chosen;
}

function updateCharCount() {
  const length = [...$("text").value].length; // code points, as the server counts
  const limit = state.caps?.max_input_chars;
  const counter = $("char-count");
  counter.textContent = limit ? `${length} / ${limit}` : `${length}`;
  counter.classList.toggle("over", Boolean(limit) && length > limit);
}

// ---- loading what the server offers --------------------------------------------------------------
async function loadVoices(wanted) {
  const list = (await getJSON("v1/audio/voices")).data;
  const byType = (type) => list.filter((v) => v.type === type);
  const label = (v) => (v.type === "alias" ? `${v.name} → ${v.alias_of}` : v.name);
  const group = (name, voices) => ({ group: name, options: voices.map((v) => ({ value: v.id, label: label(v) })) });
  fillSelect($("voice"), [
    group("Uploaded", byType("audio_sample")), group("Built-in", byType("builtin")), group("OpenAI names", byType("alias")),
  ], wanted, $("voice").value, state.caps.default_voice);
  clone.renderVoices(byType("audio_sample"));
}

async function load() {
  clearErrors("speech");
  $("engine-line").textContent = "connecting…";
  let caps;
  try {
    caps = await getJSON("v1/audio/capabilities");
  } catch (err) {
    if (err instanceof ApiError && err.status === 503) { // the model is still loading
      $("engine-line").textContent = `${err.message}; retrying…`;
      setTimeout(load, 2000);
      return;
    }
    $("engine-line").textContent = "not connected";
    showError(err);
    return;
  }
  state.caps = caps;
  const saved = savedForm();
  const flags = [caps.streaming && "streaming", caps.voice_cloning && "voice cloning"].filter(Boolean);
  $("engine-line").textContent = `engine ${caps.engine} · ${caps.sample_rate} Hz${flags.length ? " · " + flags.join(" · ") : ""}`;
  fillSelect($("model"), caps.models.map((m) => ({ value: m, label: m })), saved.model, caps.engine);
  const languages = caps.languages.map((l) => ({ value: l, label: l }));
  if (caps.auto_language) languages.unshift({ value: "auto", label: "auto" });
  fillSelect($("language"), languages, saved.language, "auto");
  const formatLabel = (f) => `${f}${streams(f) ? " (plays while streaming)" : " (plays when complete)"}`;
  fillSelect($("format"), caps.response_formats.map((f) => ({ value: f, label: formatLabel(f) })), saved.format, "pcm");
  $("speed").min = caps.speed.min;
  $("speed").max = caps.speed.max;
  $("clone").hidden = !caps.voice_cloning;
  try {
    await loadVoices(saved.voice);
  } catch (err) {
    showError(err);
  }
  updateCharCount();
  document.body.dataset.ready = "true";
}

// ---- speaking ------------------------------------------------------------------------------------
function setDownload(blob, name) {
  if (state.downloadUrl) URL.revokeObjectURL(state.downloadUrl);
  state.downloadUrl = URL.createObjectURL(blob);
  const link = $("download");
  link.href = state.downloadUrl;
  link.download = name;
  link.textContent = `Download ${name}`;
  link.hidden = false;
}

function showProgress(run) {
  const player = run.player;
  const received = player.receivedSeconds;
  const played = player.playedSeconds;
  const fraction = received ? played / received : 0;
  $("audio-seconds").textContent = `${received.toFixed(2)} s`;
  $("received").textContent = `${(run.bytes / 1024).toFixed(1)} kB`;
  $("progress").value = fraction;
  if (run.redraw && player.samples) { run.live = player.samples(); run.redraw = false; } // pcm: grows as it streams
  const samples = run.samples ?? run.live;
  if (samples) drawWaveform($("waveform"), samples, samples.length, fraction);
  if (run.done && played >= received - 1e-3) {
    $("status").textContent = run.failed ? "failed" : "done";
    $("output").dataset.state = run.failed ? "failed" : "done";
    $("speak").disabled = false;
    $("stop").disabled = true;
    return;
  }
  if (run === state.run) requestAnimationFrame(() => showProgress(run));
}

// The first sound: time to first audio is measured here, and the progress loop starts.
function started(run, player, status) {
  run.player = player;
  run.ttfa = performance.now() - run.startedAt;
  const firstByte = run.firstByteAt - run.startedAt;
  $("ttfa").textContent = `${run.ttfa.toFixed(0)} ms` + (run.ttfa - firstByte > 50 ? ` (first byte ${firstByte.toFixed(0)} ms)` : "");
  $("status").textContent = status;
  requestAnimationFrame(() => showProgress(run));
}

// Reads the response as it arrives: pcm/wav are decoded and played chunk by chunk, mp3/aac are fed
// to MediaSource where the browser has it; anything else plays once complete. Returns the file.
async function readStream(run, response, format) {
  const reader = response.body.getReader();
  const type = response.headers.get("Content-Type") || "application/octet-stream";
  const rate = Number(response.headers.get("X-Sample-Rate")) || 24000;
  const decoder = format === "pcm" ? new PcmDecoder(16) : format === "wav" ? new WavDecoder() : null;
  const streamType = decoder ? null : mediaSourceType(type);
  run.playback = decoder ? "web-audio" : streamType ? "media-source" : "decoded"; // how it is played
  const encoded = [];
  // the audio clock starts while the first chunk is on its way (the rate is in the headers)
  const audio = decoder ? new StreamPlayer(rate) : null;
  run.pendingAudio = audio;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!run.firstByteAt) run.firstByteAt = performance.now();
    run.bytes += value.length;
    if (!decoder) {
      encoded.push(value);
      if (streamType && !run.mse) {
        run.mse = new MediaSourcePlayer(streamType);
        run.mse.playing.then(() => { if (state.run === run) started(run, run.mse, "playing while it streams"); });
      }
      run.mse?.push(value);
      continue;
    }
    const samples = decoder.decode(value);
    if (!samples.length) continue;
    if (!run.player) {
      const wanted = decoder.sampleRate || rate;
      const player = audio && audio.sampleRate === wanted ? audio : new StreamPlayer(wanted);
      if (player !== audio) audio?.stop();
      await player.resume();
      started(run, player, "playing while it streams");
    }
    run.player.push(samples);
    run.redraw = true;
  }
  if (decoder) {
    if (!run.player) { audio.stop(); throw new ApiError(0, "the server sent no audio"); }
    run.samples = run.player.samples();
    run.sampleRate = run.player.sampleRate;
    return wavBlob(run.samples, run.sampleRate); // exact header sizes (a streamed wav says "unknown")
  }
  const blob = new Blob(encoded, { type });
  run.mse?.end();
  $("status").textContent = run.mse ? $("status").textContent : "decoding";
  const { samples, sampleRate } = await decodeEncoded(await blob.arrayBuffer());
  if (!run.mse) {
    const player = new StreamPlayer(sampleRate);
    await player.resume();
    player.push(samples);
    started(run, player, "playing");
  }
  run.samples = samples;
  run.sampleRate = sampleRate;
  return blob;
}

async function speak(event) {
  event?.preventDefault();
  clearErrors("speech");
  stop();
  saveForm();
  const format = $("format").value;
  const body = {
    model: $("model").value, input: $("text").value, voice: $("voice").value,
    response_format: format, speed: Number($("speed").value),
  };
  if ($("language").value && $("language").value !== "auto") body.language = $("language").value;
  const run = { controller: new AbortController(), startedAt: performance.now(), bytes: 0, player: null, done: false };
  state.run = run;
  window.playground.lastAudio = null;
  $("output").dataset.state = "running";
  $("speak").disabled = true;
  $("stop").disabled = false;
  $("ttfa").textContent = "…";
  $("status").textContent = "waiting for the first audio";
  try {
    const response = await apiFetch("v1/audio/speech", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal: run.controller.signal,
    });
    const file = await readStream(run, response, format);
    setDownload(file, `speech.${EXTENSIONS[format]}`);
    window.playground.lastAudio = {
      samples: run.samples, sampleRate: run.sampleRate, ttfaMs: run.ttfa, format, bytes: run.bytes,
      playback: run.playback,
      underruns: run.player?.underruns ?? 0,
    };
  } catch (err) {
    if (err.name !== "AbortError") {
      run.failed = true;
      showError(err instanceof ApiError ? err : new ApiError(0, `the audio stream broke off: ${err.message}`));
      $("status").textContent = "failed";
      if (!run.player) $("ttfa").textContent = "–";
      $("output").dataset.state = "failed";
      run.mse?.end();
    }
    if (run.pendingAudio && run.pendingAudio !== run.player) run.pendingAudio.stop();
    if (!run.player) { $("speak").disabled = false; $("stop").disabled = true; }
  } finally {
    run.done = true;
  }
}

function stop() {
  const run = state.run;
  if (!run) return;
  run.stopped = true;
  run.controller.abort();
  run.player?.stop();
  run.pendingAudio?.stop();
  run.mse?.stop();
  state.run = null;
  $("speak").disabled = false;
  $("stop").disabled = true;
  $("status").textContent = "stopped";
}

// ---- wiring --------------------------------------------------------------------------------------
const clone = new CloneForm((name) => loadVoices(name ?? undefined));

$("api-key").value = getKey();
$("api-key").addEventListener("change", () => { setKey($("api-key").value.trim()); load(); });
const saved = savedForm();
if (saved.text) $("text").value = saved.text;
if (saved.speed) $("speed").value = saved.speed;
const showSpeed = () => { $("speed-value").textContent = `${Number($("speed").value).toFixed(2)}×`; };
showSpeed();
$("speed").addEventListener("input", showSpeed);
$("text").addEventListener("input", () => { updateCharCount(); saveForm(); });
for (const id of ["model", "voice", "language", "format", "speed"]) $(id).addEventListener("change", saveForm);
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) speak(e); });
$("speak-form").addEventListener("submit", speak);
$("stop").addEventListener("click", stop);
window.addEventListener("resize", () => {
  const audio = window.playground.lastAudio;
  if (audio) drawWaveform($("waveform"), audio.samples);
});
load();
