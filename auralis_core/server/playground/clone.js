// Voice cloning: collect reference clips (file picker, drag and drop, microphone), POST them to
// /v1/audio/voices under a name, and list/delete the uploaded voices.

import { apiFetch } from "./api.js";
import { clearErrors, showError } from "./errors.js";

const $ = (id) => document.getElementById(id);

export class CloneForm {
  // onChanged(selectName): called after a voice was created or deleted, so the voice list reloads.
  constructor(onChanged) {
    this.clips = [];
    this.onChanged = onChanged;
    this.recorder = null;
    this.recordings = 0;
    const drop = $("dropzone");
    $("clone-files").addEventListener("change", (e) => { this.add([...e.target.files]); e.target.value = ""; });
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      this.add([...e.dataTransfer.files]);
    });
    drop.addEventListener("keydown", (e) => {
      if (e.target === drop && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); $("clone-files").click(); }
    });
    $("record").addEventListener("click", () => this.toggleRecording());
    $("clone-submit").addEventListener("click", () => this.submit());
    if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") {
      $("record").disabled = true;
      $("record").title = "recording needs a secure page (https or localhost) and a browser with MediaRecorder";
    }
  }

  add(files) {
    for (const file of files) this.clips.push(file);
    this.renderClips();
  }

  renderClips() {
    const list = $("clip-list");
    list.replaceChildren();
    this.clips.forEach((file, i) => {
      const item = document.createElement("li");
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.src = URL.createObjectURL(file);
      const label = document.createElement("span");
      label.textContent = `${file.name} (${(file.size / 1024).toFixed(0)} kB)`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "remove";
      remove.addEventListener("click", () => { URL.revokeObjectURL(audio.src); this.clips.splice(i, 1); this.renderClips(); });
      item.append(label, audio, remove);
      list.append(item);
    });
  }

  async toggleRecording() {
    const button = $("record");
    if (this.recorder) { this.recorder.stop(); return; }
    clearErrors("clone");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      showError({ message: `microphone unavailable: ${err.message}`, param: "audio_sample" }, "clone");
      return;
    }
    const chunks = [];
    const recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = () => {
      stream.getTracks().forEach((t) => t.stop());
      this.recorder = null;
      button.classList.remove("recording");
      button.textContent = "● Record";
      const type = recorder.mimeType || "audio/webm";
      const ext = type.includes("ogg") ? "ogg" : type.includes("mp4") ? "m4a" : "webm";
      this.recordings += 1;
      this.add([new File(chunks, `recording-${this.recordings}.${ext}`, { type })]);
    };
    recorder.start();
    this.recorder = recorder;
    button.classList.add("recording");
    button.textContent = "■ Stop recording";
  }

  async submit() {
    clearErrors("clone");
    const name = $("clone-name").value.trim();
    const form = new FormData();
    form.append("name", name);
    for (const file of this.clips) form.append("audio_sample", file, file.name);
    const language = $("language").value;
    if (language && language !== "auto") form.append("language", language);
    $("clone-submit").disabled = true;
    $("clone-status").textContent = "computing the voice…";
    try {
      await apiFetch("v1/audio/voices", { method: "POST", body: form });
      $("clone-status").textContent = `voice “${name}” created`;
      this.clips = [];
      this.renderClips();
      $("clone-name").value = "";
      await this.onChanged(name);
    } catch (err) {
      $("clone-status").textContent = "";
      showError(err, "clone");
    } finally {
      $("clone-submit").disabled = false;
    }
  }

  // voices: the uploaded ones (type audio_sample) from GET /v1/audio/voices.
  renderVoices(voices) {
    const list = $("my-voices");
    list.replaceChildren();
    if (!voices.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "none yet";
      list.append(none);
    }
    for (const voice of voices) {
      const item = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = voice.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "delete-voice";
      remove.dataset.voice = voice.id;
      remove.textContent = "delete";
      remove.addEventListener("click", () => this.remove(voice.id));
      item.append(label, remove);
      list.append(item);
    }
  }

  async remove(name) {
    clearErrors("clone");
    try {
      await apiFetch(`v1/audio/voices/${encodeURIComponent(name)}`, { method: "DELETE" });
      $("clone-status").textContent = `voice “${name}” deleted`;
      await this.onChanged(null);
    } catch (err) {
      showError(err, "clone");
    }
  }
}
