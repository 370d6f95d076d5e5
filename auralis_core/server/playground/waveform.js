// Min/max waveform of mono samples on a canvas, with the played part shaded.

export function drawWaveform(canvas, samples, totalSamples = samples.length, playedFraction = 0) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const g = canvas.getContext("2d");
  const style = getComputedStyle(document.documentElement);
  g.clearRect(0, 0, width, height);
  const mid = height / 2;
  const perPixel = Math.max(1, totalSamples / width);
  const played = playedFraction * width;
  const drawn = Math.min(width, Math.ceil(samples.length / perPixel));
  for (let x = 0; x < drawn; x++) {
    const from = Math.floor(x * perPixel);
    const to = Math.min(samples.length, Math.floor((x + 1) * perPixel));
    let lo = 0, hi = 0;
    for (let i = from; i < to; i++) {
      const v = samples[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    g.fillStyle = x < played ? style.getPropertyValue("--played") : style.getPropertyValue("--wave");
    g.fillRect(x, mid - hi * mid, 1, Math.max(1, (hi - lo) * mid));
  }
}
