// Streaming playback: bytes of a pcm or wav response become Float32 samples as they arrive and are
// scheduled back to back on a Web Audio clock, so sound starts with the first chunk. Encoded formats
// (mp3, opus, aac, flac) are decoded once complete by the browser's own decoder.

const LEAD_SECONDS = 0.05; // scheduling margin ahead of the audio clock

// Raw little-endian PCM (int16, int32 or float32) in arbitrary byte pieces -> Float32Array pieces.
export class PcmDecoder {
  constructor(bitsPerSample = 16, float = false) {
    this.bytes = bitsPerSample / 8;
    this.float = float;
    this.carry = new Uint8Array(0);
  }

  decode(chunk) {
    let data = chunk;
    if (this.carry.length) {
      data = new Uint8Array(this.carry.length + chunk.length);
      data.set(this.carry);
      data.set(chunk, this.carry.length);
    }
    const whole = data.length - (data.length % this.bytes);
    this.carry = data.slice(whole);
    const view = new DataView(data.buffer, data.byteOffset, whole);
    const n = whole / this.bytes;
    const out = new Float32Array(n);
    if (this.bytes === 2) for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true) / 32768;
    else if (this.float) for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    else if (this.bytes === 4) for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true) / 2147483648;
    else for (let i = 0; i < n; i++) {
      const v = view.getUint8(3 * i) | (view.getUint8(3 * i + 1) << 8) | (view.getInt8(3 * i + 2) << 16);
      out[i] = v / 8388608;
    }
    return out;
  }
}

// A streamed WAV: RIFF header (sizes may say "unknown"), then PCM handed to PcmDecoder.
export class WavDecoder {
  constructor() {
    this.head = new Uint8Array(0);
    this.pcm = null;
    this.sampleRate = null;
  }

  decode(chunk) {
    if (this.pcm) return this.pcm.decode(chunk);
    const head = new Uint8Array(this.head.length + chunk.length);
    head.set(this.head);
    head.set(chunk, this.head.length);
    this.head = head;
    const view = new DataView(head.buffer);
    if (head.length < 12) return new Float32Array(0);
    if (String.fromCharCode(...head.slice(0, 4)) !== "RIFF" || String.fromCharCode(...head.slice(8, 12)) !== "WAVE") {
      throw new Error("the response is not a WAV stream");
    }
    let at = 12;
    let fmt = null;
    while (at + 8 <= head.length) {
      const id = String.fromCharCode(...head.slice(at, at + 4));
      const size = view.getUint32(at + 4, true);
      if (id === "data") {
        if (!fmt) throw new Error("WAV stream without a fmt chunk");
        this.pcm = new PcmDecoder(fmt.bits, fmt.format === 3);
        this.sampleRate = fmt.rate;
        return this.pcm.decode(head.slice(at + 8));
      }
      if (at + 8 + size > head.length) break; // chunk not complete yet
      if (id === "fmt ") {
        fmt = { format: view.getUint16(at + 8, true), channels: view.getUint16(at + 10, true),
                rate: view.getUint32(at + 12, true), bits: view.getUint16(at + 22, true) };
        if (fmt.channels !== 1) throw new Error(`WAV stream with ${fmt.channels} channels; expected mono`);
      }
      at += 8 + size + (size % 2);
    }
    return new Float32Array(0);
  }
}

// Plays Float32 pieces gaplessly as they are pushed; keeps them all for the waveform and download.
export class StreamPlayer {
  constructor(sampleRate) {
    this.sampleRate = sampleRate;
    this.ctx = new AudioContext({ sampleRate, latencyHint: "interactive" });
    this.pieces = [];
    this.length = 0;
    this.startAt = null;
    this.nextAt = 0;
    this.underruns = 0;
    this.sources = new Set();
  }

  push(samples) {
    if (!samples.length) return;
    this.pieces.push(samples);
    this.length += samples.length;
    const buffer = this.ctx.createBuffer(1, samples.length, this.sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.startAt === null) {
      this.startAt = this.nextAt = now + LEAD_SECONDS;
    } else if (this.nextAt < now) { // the network fell behind playback: resume after a gap
      this.underruns += 1;
      this.startAt += now + LEAD_SECONDS - this.nextAt;
      this.nextAt = now + LEAD_SECONDS;
    }
    source.start(this.nextAt);
    this.nextAt += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  get receivedSeconds() { return this.length / this.sampleRate; }

  get playedSeconds() {
    if (this.startAt === null) return 0;
    return Math.min(this.receivedSeconds, Math.max(0, this.ctx.currentTime - this.startAt));
  }

  samples() {
    const out = new Float32Array(this.length);
    let at = 0;
    for (const piece of this.pieces) { out.set(piece, at); at += piece.length; }
    return out;
  }

  async resume() {
    if (this.ctx.state === "suspended") await this.ctx.resume();
  }

  stop() {
    for (const source of this.sources) { try { source.stop(); } catch { /* not started */ } }
    this.sources.clear();
    if (this.ctx.state !== "closed") this.ctx.close();
  }
}

// Whole encoded file -> mono Float32Array at the file's own rate (the browser's decoder).
export async function decodeEncoded(arrayBuffer) {
  const ctx = new OfflineAudioContext(1, 1, 48000);
  const audio = await ctx.decodeAudioData(arrayBuffer);
  const samples = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const channel = audio.getChannelData(c);
    for (let i = 0; i < channel.length; i++) samples[i] += channel[i] / audio.numberOfChannels;
  }
  return { samples, sampleRate: audio.sampleRate };
}

// 16-bit WAV file of mono samples, for downloading a pcm result in a form every player opens.
export function wavBlob(samples, sampleRate) {
  const out = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at, s) => { for (let i = 0; i < s.length; i++) out.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); out.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
  out.setUint32(24, sampleRate, true); out.setUint32(28, sampleRate * 2, true); out.setUint16(32, 2, true);
  out.setUint16(34, 16, true); text(36, "data"); out.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    out.setInt16(44 + 2 * i, v < 0 ? v * 32768 : v * 32767, true);
  }
  return new Blob([out.buffer], { type: "audio/wav" });
}

// Encoded streams the browser's MediaSource takes (mp3, ADTS aac in Chromium): appended to an
// <audio> element as they arrive, so playback starts before the file is complete.
export function mediaSourceType(contentType) {
  const type = (contentType || "").split(";")[0].trim();
  return ["audio/mpeg", "audio/aac"].includes(type) && window.MediaSource?.isTypeSupported(type) ? type : null;
}

export class MediaSourcePlayer {
  constructor(type) {
    this.audio = new Audio();
    this.source = new MediaSource();
    this.audio.src = URL.createObjectURL(this.source);
    this.pending = [];
    this.ended = false;
    this.buffer = null;
    this.playing = new Promise((resolve) => this.audio.addEventListener("playing", resolve, { once: true }));
    this.source.addEventListener("sourceopen", () => {
      this.buffer = this.source.addSourceBuffer(type);
      this.buffer.mode = "sequence";
      this.buffer.addEventListener("updateend", () => this.pump());
      this.pump();
    }, { once: true });
  }

  push(bytes) {
    this.pending.push(bytes);
    this.pump();
  }

  end() {
    this.ended = true;
    this.pump();
  }

  pump() {
    if (!this.buffer || this.buffer.updating || this.source.readyState !== "open") return;
    if (this.pending.length) {
      const parts = this.pending.splice(0);
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) { joined.set(part, at); at += part.length; }
      this.buffer.appendBuffer(joined);
      if (this.audio.paused && !this.audio.ended) this.audio.play().catch(() => { /* stopped meanwhile */ });
    } else if (this.ended) {
      this.source.endOfStream();
    }
  }

  get receivedSeconds() {
    const ranges = this.buffer?.buffered;
    return ranges && ranges.length ? ranges.end(ranges.length - 1) : 0;
  }

  get playedSeconds() {
    return this.audio.ended ? this.receivedSeconds : Math.min(this.audio.currentTime, this.receivedSeconds);
  }

  stop() {
    this.audio.pause();
    URL.revokeObjectURL(this.audio.src);
  }
}
