// Shows an API error next to the field its `param` names; the form's content is never touched.

// API parameter -> the id of the control it belongs to (its message goes to #err-<id>).
const SPEECH_FIELDS = {
  input: "text", voice: "voice", model: "model", language: "language", speed: "speed",
  response_format: "format", speaker_audio: "voice",
};
const CLONE_FIELDS = { name: "clone-name", audio_sample: "clone-files", files: "clone-files", language: "clone-name" };

function fieldFor(err, scope) {
  if (err.code === "invalid_api_key" || err.status === 401) return "api-key";
  const fields = scope === "clone" ? CLONE_FIELDS : SPEECH_FIELDS;
  const param = (err.param || "").split(".")[0].replace(/\[\d+\]$/, "");
  return fields[param] || (scope === "clone" ? "clone" : "general");
}

export function clearErrors(scope) {
  const ids = scope === "clone" ? [...new Set(Object.values(CLONE_FIELDS)), "clone"]
    : [...new Set(Object.values(SPEECH_FIELDS)), "general"];
  for (const id of [...ids, "api-key"]) {
    const box = document.getElementById(`err-${id}`);
    if (box) { box.hidden = true; box.textContent = ""; }
    document.getElementById(id)?.removeAttribute("aria-invalid");
  }
}

// scope: "speech" or "clone" (which form's fields a param refers to).
export function showError(err, scope = "speech") {
  const id = fieldFor(err, scope);
  const box = document.getElementById(`err-${id}`);
  box.textContent = err.message;
  box.dataset.param = err.param || "";
  box.dataset.code = err.code || "";
  box.hidden = false;
  const control = document.getElementById(id);
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", box.id);
  }
  return box;
}
