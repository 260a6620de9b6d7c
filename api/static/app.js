// The a64eq web page: send the pair to POST v1/check and show the result a person needs to see.
// Plain DOM code, no framework and no build step; user text is only ever set as textContent.
"use strict";

const $ = (id) => document.getElementById(id);

const VERDICT_TEXT = {
  equivalent: "Equivalent",
  bounded_equivalent: "Equivalent up to the loop bound",
  not_equivalent: "Not equivalent",
  unknown: "Unknown",
  unsupported: "Unsupported",
  invalid: "Invalid input",
};

// ---- editors: a line-number gutter next to each textarea, able to mark one line ----------------------

function editorOf(name) {
  return document.querySelector(`.editor[data-snippet="${name}"]`);
}

function renderGutter(name, badLine) {
  const editor = editorOf(name);
  const gutter = editor.querySelector(".gutter");
  const lines = editor.querySelector("textarea").value.split("\n").length;
  gutter.replaceChildren();
  for (let n = 1; n <= lines; n++) {
    const number = document.createElement("span");
    number.textContent = n;
    if (n === badLine) number.className = "bad";
    gutter.append(number, "\n");
  }
}

for (const name of ["source", "candidate"]) {
  const textarea = $(name);
  const gutter = editorOf(name).querySelector(".gutter");
  textarea.addEventListener("input", () => renderGutter(name));
  textarea.addEventListener("scroll", () => { gutter.scrollTop = textarea.scrollTop; });
  renderGutter(name);
}

// ---- the request ------------------------------------------------------------------------------------

function options() {
  const chosen = { preset: $("preset").value, replay: $("replay").checked };
  for (const name of ["timeout", "fp_timeout"]) {
    const seconds = parseFloat($(name).value);
    if (!Number.isNaN(seconds)) chosen[name] = seconds;
  }
  const liveOut = $("live_out").value.split(/[\s,]+/).filter(Boolean);
  if (liveOut.length) chosen.live_out = liveOut;
  return chosen;
}

// Relative to the page (the service may sit behind a path prefix), but without any user:password@ the
// address bar may hold: fetch() refuses such URLs; the browser re-sends the credentials by itself.
function apiUrl(path) {
  return new URL(path, location.origin + location.pathname).href;
}

function describeError(status, body) {
  if (body && Array.isArray(body.detail)) {  // FastAPI's 422: a list of {loc, msg}
    return body.detail.map((e) => `${e.loc.slice(1).join(".")}: ${e.msg}`).join("; ");
  }
  return (body && body.detail) || `HTTP ${status}`;
}

async function check(event) {
  event.preventDefault();
  const button = $("check");
  button.disabled = true;
  button.textContent = "Checking…";
  try {
    const response = await fetch(apiUrl("v1/check"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ source: $("source").value, candidate: $("candidate").value, options: options() }),
    });
    const body = await response.json().catch(() => null);
    if (response.ok) {
      showResult(body);
    } else {
      const retry = response.headers.get("Retry-After");
      showProblem(describeError(response.status, body) + (retry ? ` (retry in ${retry} s)` : ""));
    }
  } catch (error) {
    showProblem(`The server could not be reached: ${error.message}`);
  } finally {
    button.disabled = false;
    button.textContent = "Check";
  }
}

$("form").addEventListener("submit", check);
document.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("form").requestSubmit();
});

// ---- the result -------------------------------------------------------------------------------------

function cell(row, text, className) {
  const td = row.insertCell();
  if (text instanceof Node) td.append(text); else td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const values of rows) {
    const row = body.insertRow();
    values.forEach((value) => cell(row, value));
  }
  return body;
}

// Two hex values side by side, padded to one width, each differing digit marked.
function markedPair(a, b) {
  const hex = /^0x[0-9a-f]+$/i;
  const out = [document.createElement("code"), document.createElement("code")];
  if (!hex.test(a) || !hex.test(b)) {
    out[0].textContent = a;
    out[1].textContent = b;
    return out;
  }
  const width = Math.max(a.length, b.length) - 2;
  const digits = [a.slice(2).padStart(width, "0"), b.slice(2).padStart(width, "0")];
  digits.forEach((value, side) => {
    out[side].append("0x");
    for (let i = 0; i < width; i++) {
      if (value[i] === digits[1 - side][i]) {
        out[side].append(value[i]);
      } else {
        const mark = document.createElement("mark");
        mark.textContent = value[i];
        out[side].append(mark);
      }
    }
  });
  return out;
}

function describeExit(exit) {
  if (exit.kind === "fallthrough") return "falls through";
  if (exit.kind === "label") return `branches to ${exit.label}`;
  return `jumps to ${exit.target}`;
}

function showProblem(message) {
  showResult({ verdict: "error", reason: message, source: {}, candidate: {}, unsupported: [], timings_ms: {} });
}

function showResult(result) {
  $("result").hidden = false;
  const verdict = $("verdict");
  verdict.textContent = VERDICT_TEXT[result.verdict] || "Request failed";
  verdict.className = `verdict verdict-${result.verdict}`;
  $("reason").textContent = result.reason;
  showError(result);
  showUnsupported(result.unsupported || []);
  showCounterexample(result.counterexample);

  const dropped = [...(result.source.dropped || []), ...(result.candidate.dropped || [])];
  $("dropped").hidden = dropped.length === 0;
  $("dropped").textContent = `Clean-up dropped: ${dropped.join("; ")}`;
  const timings = Object.entries(result.timings_ms || {}).map(([stage, ms]) => `${stage} ${ms.toFixed(1)} ms`);
  $("timings").textContent = timings.length ? `Timings: ${timings.join(" · ")} — a64eq ${result.version}` : "";
}

function showError(result) {
  const name = ["source", "candidate"].find((n) => result[n] && result[n].error);
  renderGutter("source");
  renderGutter("candidate");
  $("error-box").hidden = !name;
  if (!name) return;
  const error = result[name].error;
  renderGutter(name, error.line);
  $("error-where").textContent = `${name}${error.line ? `, line ${error.line}` : ""} [${error.kind}]`;
  const listing = $("error-listing");
  listing.replaceChildren();
  $(name).value.split("\n").forEach((text, index) => {
    const item = document.createElement("li");
    item.textContent = text || " ";
    if (index + 1 === error.line) item.className = "bad";
    listing.append(item);
  });
}

function showUnsupported(items) {
  $("unsupported-box").hidden = items.length === 0;
  $("unsupported").replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.textContent = `${item.snippet}${item.line ? ` line ${item.line}` : ""}: ` +
      `${item.instruction ? `${item.instruction} → ` : ""}${item.what}`;
    return li;
  }));
}

function showCounterexample(cex) {
  $("counterexample").hidden = !cex;
  if (!cex) return;
  const inputs = Object.entries(cex.inputs.registers);
  if (cex.inputs.flags) {
    inputs.push(["nzcv", Object.entries(cex.inputs.flags).map(([flag, bit]) => `${flag}=${bit}`).join(" ")]);
  }
  for (const [name, address] of Object.entries(cex.inputs.symbols || {})) inputs.push([`&${name}`, address]);
  for (const bytes of cex.inputs.memory) inputs.push([`mem[${bytes.address}]`, bytes.bytes]);
  fillTable("inputs", inputs.length ? inputs : [["(any state)", ""]]);

  const body = $("differences").tBodies[0];
  body.replaceChildren();
  for (const difference of cex.differences) {
    const row = body.insertRow();
    row.className = "differs";
    cell(row, difference.location);
    const [source, candidate] = markedPair(difference.source, difference.candidate);
    cell(row, source);
    cell(row, candidate);
  }
  $("exits").textContent =
    `Exits: source ${describeExit(cex.source_exit)}, candidate ${describeExit(cex.candidate_exit)}`;
  $("replay-note").textContent = cex.confirmed
    ? "Replayed on unicorn: confirmed."
    : `Replay: not confirmed (${cex.replay_note || "no reason given"})`;
  $("replay-note").className = cex.confirmed ? "confirmed" : "unconfirmed";
}
