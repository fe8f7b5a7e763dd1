// The browser's half of a live lesson: microphone, WebRTC peer connection to the
// Realtime API (or the local simulator), the remote audio, the `oai-events` data
// channel, and the speech model that decides barge-in. It makes no decisions about
// users, credits or sessions: it acts on the `command` its Python state sets and
// reports what happens through event props.
//
// Barge-in (README, "Barge-in"): a level is not speech. A keyboard, a cough, a fan or the
// tutor's own echo must never cut the tutor, so:
//   1. a sound that rises over the room's noise floor *ducks* the tutor (-20 dB) at once,
//      so the learner feels heard;
//   2. Silero VAD (onnxruntime-web, served from our own origin) judges every 32 ms frame;
//      speech it confirms, loud enough to be the learner and not an echo, *silences* the
//      tutor; if the speech goes on past a backchannel ("mm-hm") the tutor is *cut*:
//      `response.cancel`, `output_audio_buffer.clear` and a truncate to what was heard;
//   3. anything the model does not confirm brings the tutor back to full volume:
//      nothing was cancelled. A backchannel resumes the tutor too (unless the learner
//      chose "stop on any word").
// The provider never cuts or answers on its own (see realtime_config.py): after a turn
// with confirmed speech this component sends `response.create`.
//
// Push-to-talk (for very noisy rooms): the microphone only sends while the learner holds
// the button or Space; pressing it over the tutor cuts the tutor at once.
// The microphone check (command "check") listens for a few seconds and reports the
// levels and how much speech the model heard; Python judges the result.
//
// For tests and the benchmark, timings are kept on `window.__fluentioCall`.
import { useEffect, useRef } from "react";

const TRANSCRIPT_FLUSH_MS = 120;
// The most token log-probabilities sent up with one caption (a long turn's worth).
const MAX_CAPTION_LOGPROBS = 400;
const SAMPLE_MS = 5;
// Tutor output above this RMS is "audible" (for the metrics and the echo estimate).
const AUDIBLE_RMS = 0.004;
const SILENT_HOLD_MS = 150;

// Ducking: the gain while a sound is being judged, and how long a level-only onset may
// hold it before the tutor comes back. An onset must last ONSET_HOLD_MS (a key click or
// a knock's transient is shorter) and rise above the room's noise floor.
const DUCK_GAIN = 0.1; // -20 dB
const ONSET_RMS = 0.02;
const ONSET_OVER_FLOOR = 3;
const ONSET_HOLD_MS = 20;
const DUCK_HOLD_MS = 300;
// After a duck the model did not confirm, a steady noise may not duck again at once.
const LEVEL_REFRACTORY_MS = 1000;
const RESUME_RAMP_S = 0.08;

// The speech model's decision, per 32 ms frame of 16 kHz audio.
const SPEECH_PROB = 0.5;
// Below this a frame is surely not speech (the microphone check measures the room there).
const SILENCE_PROB = 0.35;
// Near-field speech with auto gain off: a distant TV or the tutor's echo after the
// browser's echo cancellation stays below this frame RMS (-34 dBFS).
const SPEECH_MIN_RMS = 0.02;
// Speech must also be louder than this share (-20 dB) of the tutor's own output level:
// what is left of the tutor's voice after the browser's echo cancellation is quieter.
const ECHO_RATIO = 0.1;
const SILENCE_FRAMES = 2; // ~64 ms of speech silences the tutor (not yet a cut)
const CONFIRM_FRAMES = 3; // ~96 ms of speech is a word: it can cut the tutor and make a turn
const END_FRAMES = 8; // ~256 ms without speech ends a segment
// Speech over the tutor shorter than this is a backchannel ("mm-hm", "yeah", "okay").
const BACKCHANNEL_MAX_MS = 700;
const VAD_FRAME_MS = 32;
const CHECK_MS = 5000;
// How long a microphone opened by a click waits for the state's "start" command.
const UNCLAIMED_MS = 8000;

function dbfs(value) {
  return Math.round(20 * Math.log10(Math.max(value, 1e-6)));
}

function newMetrics() {
  return {
    startedAt: null,
    micAt: null,
    offerAt: null,
    commandAt: null,
    answerAt: null,
    liveAt: null,
    callId: null,
    sessionId: null,
    vad: "loading",
    vadFrames: 0,
    speechStopped: [],
    replies: [],
    bargeIns: [],
    ducks: [],
    responses: {},
    sent: [],
    received: 0,
    tutorAudibleFrames: 0,
  };
}

function rms(analyser, buffer) {
  analyser.getFloatTimeDomainData(buffer);
  return rmsOf(buffer);
}

function rmsOf(samples) {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / samples.length);
}

function errorFromMedia(err) {
  const name = (err && err.name) || "";
  if (name === "NotAllowedError" || name === "SecurityError") return "mic_denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return "no_mic";
  }
  return "mic_error";
}

// What a live call needs from the browser, checked before the microphone is asked for.
function missingCapability() {
  if (!window.isSecureContext) return "insecure_context";
  if (typeof window.RTCPeerConnection !== "function") return "unsupported_browser";
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
    return "unsupported_browser";
  }
  if (typeof (window.AudioContext || window.webkitAudioContext) !== "function") return "unsupported_browser";
  return "";
}

// ----- the speech model (one runtime per page, one model instance per call) -----

let vadRuntime = null;
let spareVad = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src;
    el.async = true;
    el.onload = () => resolve();
    el.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(el);
  });
}

function loadVadRuntime(base) {
  if (!vadRuntime) {
    vadRuntime = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("no WebAssembly");
      if (!window.ort) await loadScript(`${base}ort.wasm.min.js`);
      if (!window.vad) await loadScript(`${base}bundle.min.js`);
      // Threads need cross-origin isolation; one thread runs a 32 ms frame in ~1 ms.
      window.ort.env.wasm.numThreads = 1;
      return window.vad;
    })();
    vadRuntime.catch(() => { vadRuntime = null; });
  }
  return vadRuntime;
}

// A model instance loaded ahead of time, so a call's first turn pays nothing. Its
// callbacks and audio graph are set when a call takes it.
function prepareVad(base) {
  if (!spareVad) {
    spareVad = loadVadRuntime(base).then((vad) => {
      const target = { frame: null };
      return vad.MicVAD.new({
        model: "v5",
        baseAssetPath: base,
        onnxWASMBasePath: base,
        startOnLoad: false,
        ortConfig: (ort) => { ort.env.logLevel = "error"; },
        getStream: async () => { throw new Error("no call"); },
        pauseStream: async () => {},
        onFrameProcessed: (probs, frame) => { if (target.frame) target.frame(probs, frame); },
      }).then((instance) => ({ instance, target }));
    });
    spareVad.catch(() => { spareVad = null; });
  }
  return spareVad;
}

function takeVad(base) {
  const ready = prepareVad(base);
  spareVad = null;
  return ready;
}

export function RealtimeCall(props) {
  const latest = useRef(props);
  latest.current = props;
  const call = useRef(null);
  const meterRef = useRef(null);
  const vadBase = props.vadUrl || "/vad/";

  const emit = (name, ...args) => {
    const handler = latest.current[name];
    if (typeof handler === "function") handler(...args);
  };

  const stop = (reason, report = true) => {
    const c = call.current;
    if (!c) return;
    call.current = null;
    c.closed = true;
    clearInterval(c.sampler);
    clearInterval(c.flusher);
    clearTimeout(c.truncateTimer);
    clearTimeout(c.unclaimed);
    window.removeEventListener("offline", c.onOffline);
    window.removeEventListener("online", c.onOnline);
    if (c.vad) {
      c.vad.target.frame = null;
      c.vad.instance.destroy().catch(() => {});
    }
    releaseMedia(c);
    if (meterRef.current) meterRef.current.style.width = "0%";
    if (report) emit("onStatus", "ended", reason || "");
  };

  // Let go of the microphone, the audio graph and the connection (safe to repeat).
  const releaseMedia = (c) => {
    try { c.dc && c.dc.close(); } catch (e) { /* already closed */ }
    try { c.pc && c.pc.close(); } catch (e) { /* already closed */ }
    if (c.stream) c.stream.getTracks().forEach((t) => t.stop());
    if (c.audioEl) { c.audioEl.srcObject = null; c.audioEl.remove(); }
    if (c.ctx && c.ctx.state !== "closed") c.ctx.close().catch(() => {});
  };

  // Any failure while setting up: release everything (the microphone first), tell the
  // server the call is over if it had started, and show the learner a plain message.
  const fail = (c, code, detail) => {
    if (c.closed) return;
    if (c.sessionId) navigator.sendBeacon(`/api/realtime/calls/${c.sessionId}/end`);
    stop("", false);
    emit("onError", code, detail || "");
  };

  const send = (c, event) => {
    if (c.dc && c.dc.readyState === "open") {
      c.dc.send(JSON.stringify(event));
      window.__fluentioCall.sent.push(event);
    }
  };

  const talking = useRef(false);
  const pttRef = useRef(null);
  const checking = useRef(null);
  const micLive = () => !latest.current.muted && (!latest.current.pushToTalk || talking.current);
  const syncTrack = (c) => {
    if (c && c.stream) c.stream.getAudioTracks().forEach((t) => { t.enabled = micLive(); });
  };

  // Push-to-talk: hold to send the microphone; holding over the tutor is a clear
  // "let me speak", so the tutor is cut at once.
  const setTalking = (on) => {
    if (talking.current === on) return;
    talking.current = on;
    if (pttRef.current) pttRef.current.setAttribute("aria-pressed", on ? "true" : "false");
    const c = call.current;
    if (!c) return;
    syncTrack(c);
    if (on) {
      c.turnHasSpeech = true;
      if (c.tutor !== "idle") cut(c, "push_to_talk");
    }
  };

  // ----- ducking, silencing and cutting the tutor -----

  const setGain = (c, value, ramp) => {
    const g = c.gain.gain;
    const t = c.ctx.currentTime;
    g.cancelScheduledValues(t);
    if (ramp) {
      g.setValueAtTime(g.value, t);
      g.linearRampToValueAtTime(value, t + ramp);
    } else {
      g.value = value; // takes effect in the next 128-sample render quantum (~3 ms)
    }
  };

  const duck = (c, source, onsetAt) => {
    if (c.tutor !== "playing") return;
    const now = performance.now();
    c.tutor = "ducked";
    setGain(c, DUCK_GAIN);
    c.duck = { source, onsetAt, duckedAt: now, silencedAt: null, outcome: null };
    window.__fluentioCall.ducks.push(c.duck);
  };

  const resume = (c, outcome) => {
    if (c.tutor !== "ducked" && c.tutor !== "silenced") return;
    if (c.tutor === "silenced") emit("onSpeaking", true);
    c.tutor = "playing";
    setGain(c, 1, RESUME_RAMP_S);
    if (c.duck) { c.duck.outcome = outcome; c.duck.resumedAt = performance.now(); }
    c.resumedAt = performance.now();
  };

  const silence = (c) => {
    if (c.tutor === "playing") duck(c, "model", c.voice.since);
    if (c.tutor !== "ducked") return;
    c.tutor = "silenced";
    setGain(c, 0);
    c.duck.silencedAt = performance.now();
    emit("onSpeaking", false);
  };

  // Stop the tutor's reply for good: the learner has the floor.
  const cut = (c, source) => {
    if (c.tutor === "idle" || c.interrupted === c.responseId) return;
    const now = performance.now();
    if (c.tutor === "playing") duck(c, source, now);
    silence(c);
    const d = c.duck;
    d.outcome = "cut";
    c.interrupted = c.responseId;
    c.tutor = "idle";
    window.__fluentioCall.bargeIns.push({
      source, onsetAt: d.onsetAt, duckedAt: d.duckedAt, silencedAt: d.silencedAt, cutAt: now, silentAt: null,
    });
    send(c, { type: "response.cancel" });
    send(c, { type: "output_audio_buffer.clear" });
    const itemId = c.itemId;
    // What the learner heard: the tutor's audio up to the moment it was silenced.
    const heardMs = Math.max(0, Math.round(d.silencedAt - (c.itemAudioStartedAt || d.silencedAt)));
    if (itemId) {
      clearTimeout(c.truncateTimer);
      c.truncateTimer = setTimeout(() => {
        if (!c.closed && !c.truncated.has(itemId)) {
          send(c, { type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: heardMs });
        }
      }, 400);
    }
  };

  // One 32 ms frame judged by the speech model.
  const onVadFrame = (c, probs, frame) => {
    if (c.closed) return;
    window.__fluentioCall.vadFrames += 1;
    const now = performance.now();
    const v = c.voice;
    if (!micLive()) { c.voice = { since: null, frames: 0, quiet: 0, confirmed: false }; return; }
    const level = rmsOf(frame);
    const gate = Math.max(SPEECH_MIN_RMS, c.tutorPeak * ECHO_RATIO);
    if (probs.isSpeech >= SPEECH_PROB && level >= gate) {
      if (!v.since) v.since = now - VAD_FRAME_MS;
      v.frames += 1;
      v.quiet = 0;
      if (c.tutor === "playing") duck(c, "model", v.since);
      if (v.frames >= SILENCE_FRAMES && c.tutor === "ducked") silence(c);
      if (v.frames >= CONFIRM_FRAMES) {
        v.confirmed = true;
        const backchannelOver = now - v.since >= BACKCHANNEL_MAX_MS;
        if (c.tutor === "silenced" && (latest.current.backchannel === "stop" || backchannelOver)) cut(c, "model");
        if (c.tutor === "idle" || backchannelOver) c.turnHasSpeech = true;
      }
    } else if (v.since) {
      v.quiet += 1;
      if (!v.confirmed && v.quiet >= 2) {
        // Not a word yet and already gone: a blip (music, a clatter), not speech.
        if (c.tutor === "silenced") resume(c, "resumed");
        c.voice = { since: null, frames: 0, quiet: 0, confirmed: false };
      } else if (v.quiet >= END_FRAMES) {
        // The segment is over: a backchannel (or a sound) lets the tutor go on.
        if (c.tutor === "silenced") resume(c, "backchannel");
        c.voice = { since: null, frames: 0, quiet: 0, confirmed: false };
      }
    }
  };

  const attachVad = async (c) => {
    let vad;
    try {
      vad = await takeVad(vadBase);
      if (c.closed) { vad.instance.destroy().catch(() => {}); return; }
      vad.instance.options.audioContext = c.ctx;
      vad.instance.options.getStream = async () => c.stream;
      vad.target.frame = (probs, frame) => onVadFrame(c, probs, frame);
      await vad.instance.start();
      c.vad = vad;
      window.__fluentioCall.vad = "ready";
    } catch (err) {
      // Without the model the provider's VAD decides turns; see onServerEvent.
      window.__fluentioCall.vad = "unavailable";
      if (vad) vad.target.frame = null;
    }
    prepareVad(vadBase).catch(() => {});
  };

  // `logprobs`: the learner's finished line's token log-probabilities, passed on as they
  // came ({token, logprob}); Python marks the unclear words with the same rule it stores
  // them by (vocabulary/unclear.py), so the threshold is not written twice.
  const caption = (c, id, speaker, text, final, logprobs) => {
    const prev = c.captions.get(id);
    const entry = { id, speaker, text, final };
    if (Array.isArray(logprobs)) {
      entry.logprobs = logprobs
        .slice(0, MAX_CAPTION_LOGPROBS)
        .map((t) => ({ token: t && t.token, logprob: t && t.logprob }));
    }
    c.captions.set(id, entry);
    if (!prev || prev.text !== text || prev.final !== final || entry.logprobs) c.dirty.add(id);
  };

  const onServerEvent = (c, raw) => {
    let ev;
    try { ev = JSON.parse(raw); } catch (e) { return; }
    const m = window.__fluentioCall;
    m.received += 1;
    const now = performance.now();
    switch (ev.type) {
      case "input_audio_buffer.speech_started":
        // Without the speech model the provider's VAD is the only judge of speech.
        if (m.vad !== "ready") cut(c, "server");
        emit("onListening", true);
        break;
      case "input_audio_buffer.speech_stopped":
        m.speechStopped.push(now);
        c.awaitingReplySince = now;
        emit("onListening", false);
        break;
      case "input_audio_buffer.committed":
        // The tutor answers a turn that held speech; a cough or a keyboard gets nothing.
        if (c.turnHasSpeech || m.vad !== "ready") send(c, { type: "response.create" });
        c.turnHasSpeech = false;
        break;
      case "conversation.item.input_audio_transcription.delta": {
        const prev = c.captions.get(ev.item_id);
        caption(c, ev.item_id, "learner", ((prev && prev.text) || "") + (ev.delta || ""), false);
        break;
      }
      case "conversation.item.input_audio_transcription.completed":
        // With `include: ["item.input_audio_transcription.logprobs"]` the event carries
        // the transcript's tokens and their log-probabilities.
        caption(c, ev.item_id, "learner", ev.transcript || "", true, ev.logprobs);
        break;
      case "response.created":
        c.responseId = ev.response && ev.response.id;
        break;
      case "response.done":
        if (ev.response && ev.response.id) m.responses[ev.response.id] = ev.response.status;
        break;
      case "response.output_item.added":
        if (ev.item && ev.item.type === "message") c.itemId = ev.item.id;
        break;
      case "response.output_audio_transcript.delta": {
        if (c.interrupted && c.interrupted === ev.response_id) break;
        const prev = c.captions.get(ev.item_id);
        caption(c, ev.item_id, "tutor", ((prev && prev.text) || "") + (ev.delta || ""), false);
        break;
      }
      case "response.output_audio_transcript.done": {
        const prev = c.captions.get(ev.item_id);
        const wasCut = c.interrupted && c.interrupted === ev.response_id;
        caption(c, ev.item_id, "tutor", wasCut ? ((prev && prev.text) || "") + " …" : ev.transcript || "", true);
        break;
      }
      case "output_audio_buffer.started":
        if (ev.response_id && ev.response_id === c.interrupted) break;
        c.responseId = ev.response_id || c.responseId;
        setGain(c, 1);
        c.tutor = "playing";
        c.itemAudioStartedAt = now;
        emit("onSpeaking", true);
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        if (c.tutor !== "idle") {
          if (c.tutor !== "playing") setGain(c, 1);
          // The reply ended while ducked (a sound at its last words): nothing was cut,
          // the duck is over.
          if (c.duck && c.duck.outcome === null) { c.duck.outcome = "resumed"; c.duck.resumedAt = performance.now(); }
          c.tutor = "idle";
          emit("onSpeaking", false);
        }
        break;
      case "conversation.item.truncated":
        c.truncated.add(ev.item_id);
        break;
      case "error": {
        const err = ev.error || {};
        // Cancelling a response that already finished is expected around barge-in.
        if (err.code === "response_cancel_not_active") break;
        emit("onError", "provider", err.message || "The tutor service reported an error.");
        break;
      }
      default:
        break;
    }
  };

  const sample = (c) => {
    const now = performance.now();
    const mic = rms(c.micAnalyser, c.micBuf);
    const out = rms(c.outAnalyser, c.outBuf);
    const level = Math.min(100, Math.round(mic * 400));
    if (meterRef.current && level !== c.lastLevel) {
      c.lastLevel = level;
      meterRef.current.style.width = `${level}%`;
      meterRef.current.parentElement.setAttribute("aria-valuenow", String(level));
    }
    // The tutor's own level at full volume (peak-held), for the echo guard.
    const gain = c.gain.gain.value;
    if (gain > 0.05) c.tutorPeak = Math.max(out / gain, c.tutorPeak * 0.995);
    else c.tutorPeak *= 0.995;
    // Fast onset: a rise over the room's noise floor that lasts ducks the tutor while
    // the model judges it.
    c.noiseFloor = mic < c.noiseFloor ? mic : c.noiseFloor * 0.999 + mic * 0.001;
    const loud = micLive() && mic > Math.max(ONSET_RMS, c.noiseFloor * ONSET_OVER_FLOOR, c.tutorPeak * ECHO_RATIO);
    if (loud) {
      if (!c.loudSince) c.loudSince = now;
      const settled = now - (c.resumedAt || 0) >= LEVEL_REFRACTORY_MS;
      if (c.tutor === "playing" && settled && now - c.loudSince >= ONSET_HOLD_MS) duck(c, "level", c.loudSince);
    } else {
      c.loudSince = null;
    }
    // A duck the model has not backed with speech ends: the tutor comes back.
    if (c.tutor === "ducked" && !c.voice.since && now - c.duck.duckedAt >= DUCK_HOLD_MS) resume(c, "resumed");

    const m = window.__fluentioCall;
    // Read by the call view's voice orb (fluentio/components/call_view.jsx).
    m.tutorLevel = out;
    m.micLevel = mic;
    const audible = out > AUDIBLE_RMS;
    if (audible) m.tutorAudibleFrames += 1;
    if (audible && c.awaitingReplySince) {
      m.replies.push({ speechStoppedAt: c.awaitingReplySince, audibleAt: now });
      c.awaitingReplySince = null;
    }
    // "Silent" means no audible sample for SILENT_HOLD_MS (gaps between words are shorter).
    if (audible) c.quietSince = null;
    else if (!c.quietSince) c.quietSince = now;
    const last = m.bargeIns[m.bargeIns.length - 1];
    if (last && last.silentAt === null && c.quietSince && now - c.quietSince >= SILENT_HOLD_MS) {
      last.silentAt = Math.max(c.quietSince, last.onsetAt);
    }
  };

  const flush = (c) => {
    if (!c.dirty.size) return;
    const items = [...c.dirty].map((id) => c.captions.get(id));
    c.dirty.clear();
    emit("onTranscript", items);
  };

  // Starting a call has two halves. `prepare` needs only the browser (capability check,
  // microphone, audio graph, peer connection, SDP offer) and begins in the Start button's
  // own click handler, while Python checks credits in parallel; `dial` sends the offer
  // once the state's "start" command brings the signalling details.
  const begin = () => {
    stop("", false);
    window.__fluentioCall = newMetrics();
    window.__fluentioCall.startedAt = performance.now();
    const c = {
      closed: false, captions: new Map(), dirty: new Set(), truncated: new Set(),
      tutor: "idle", interrupted: null, responseId: null, itemId: null, duck: null,
      voice: { since: null, frames: 0, quiet: 0, confirmed: false }, turnHasSpeech: false,
      noiseFloor: 0.01, tutorPeak: 0, loudSince: null, resumedAt: 0, live: false, sessionId: "",
      dialing: false, beganAt: performance.now(),
    };
    call.current = c;
    // A failure is reported when the state's "start" command claims this attempt, so
    // the learner's error never arrives before the state knows a call was starting.
    c.ready = prepare(c).then(
      () => null,
      (err) => {
        releaseMedia(c);
        return err || {};
      },
    );
    // A click the state then refuses (no credits, signed out) must not keep the mic.
    c.unclaimed = setTimeout(() => { if (!c.dialing && call.current === c) stop("", false); }, UNCLAIMED_MS);
    return c;
  };

  const start = async () => {
    let c = call.current;
    if (!c || c.closed || c.dialing) c = begin();
    c.dialing = true;
    window.__fluentioCall.commandAt = performance.now();
    clearTimeout(c.unclaimed);
    emit("onStatus", "connecting", "");
    const err = await c.ready;
    if (c.closed) return;
    if (err && err.callError) {
      stop("", false);
      emit("onError", err.callError, err.detail || "");
      return;
    }
    if (err) {
      fail(c, "call_failed", String((err && err.message) || err));
      return;
    }
    try {
      await dial(c, latest.current);
    } catch (e) {
      fail(c, "call_failed", String((e && e.message) || e));
    }
  };

  const prepare = async (c) => {
    const missing = missingCapability();
    // Known failures carry our error code; anything else thrown is "call_failed".
    if (missing) throw { callError: missing };
    try {
      // Auto gain stays off: a steady level lets the speech gate tell the learner's
      // voice from a distant TV or the tutor's echo.
      c.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: false },
      });
    } catch (err) {
      throw { callError: errorFromMedia(err), detail: String((err && err.message) || err) };
    }
    if (c.closed) { c.stream.getTracks().forEach((t) => t.stop()); return; }
    window.__fluentioCall.micAt = performance.now();
    await connect(c);
  };

  const connect = async (c) => {
    const track = c.stream.getAudioTracks()[0];
    syncTrack(c);
    c.ctx = new (window.AudioContext || window.webkitAudioContext)();
    c.ctx.resume().catch(() => {});
    c.micAnalyser = c.ctx.createAnalyser();
    c.micAnalyser.fftSize = 512;
    c.micBuf = new Float32Array(c.micAnalyser.fftSize);
    c.ctx.createMediaStreamSource(c.stream).connect(c.micAnalyser);
    c.gain = c.ctx.createGain();
    c.outAnalyser = c.ctx.createAnalyser();
    c.outAnalyser.fftSize = 512;
    c.outBuf = new Float32Array(c.outAnalyser.fftSize);
    c.gain.connect(c.outAnalyser);
    c.outAnalyser.connect(c.ctx.destination);
    attachVad(c);

    c.pc = new RTCPeerConnection();
    c.pc.ontrack = (e) => {
      const remote = e.streams[0] || new MediaStream([e.track]);
      // Chromium only feeds a remote WebRTC stream to WebAudio while a media element
      // plays it; the element stays muted and the audible path is the gain node.
      c.audioEl = document.createElement("audio");
      c.audioEl.muted = true;
      c.audioEl.autoplay = true;
      c.audioEl.srcObject = remote;
      c.audioEl.play().catch(() => {});
      c.ctx.createMediaStreamSource(remote).connect(c.gain);
    };
    c.pc.addTrack(track, c.stream);
    c.pc.onconnectionstatechange = () => {
      if (c.closed) return;
      const s = c.pc.connectionState;
      if (s === "disconnected") emit("onStatus", "reconnecting", "");
      else if (s === "connected" && c.live) emit("onStatus", "live", "");
      else if (s === "failed") {
        stop("", false);
        emit("onError", "network_lost", "The connection to the tutor was lost.");
      }
    };
    c.onOffline = () => { if (!c.closed) emit("onStatus", "reconnecting", ""); };
    c.onOnline = () => { if (!c.closed && c.live && c.pc.connectionState === "connected") emit("onStatus", "live", ""); };
    window.addEventListener("offline", c.onOffline);
    window.addEventListener("online", c.onOnline);
    c.dc = c.pc.createDataChannel("oai-events");
    c.dc.onmessage = (e) => onServerEvent(c, e.data);
    c.dc.onopen = () => {
      if (c.closed) return;
      c.live = true;
      window.__fluentioCall.liveAt = performance.now();
      emit("onStatus", "live", "");
    };
    c.dc.onclose = () => {
      if (!c.closed && c.live) { stop("", false); emit("onStatus", "ended", "closed_by_tutor"); }
    };

    c.offer = await c.pc.createOffer();
    await c.pc.setLocalDescription(c.offer);
    window.__fluentioCall.offerAt = performance.now();
  };

  const dial = async (c, p) => {
    const offer = c.offer;
    let response;
    let sessionId = p.sessionId || "";
    try {
      if (p.signaling === "ephemeral") {
        response = await fetch(p.callsUrl, {
          method: "POST",
          body: offer.sdp,
          headers: { Authorization: `Bearer ${p.clientSecret}`, "Content-Type": "application/sdp" },
        });
      } else {
        response = await fetch(p.offerUrl, {
          method: "POST",
          body: offer.sdp,
          credentials: "same-origin",
          headers: { "Content-Type": "application/sdp" },
        });
      }
    } catch (err) {
      fail(c, "network", "Could not reach the tutor service.");
      return;
    }
    if (c.closed) return;
    if (!response.ok) {
      let code = response.status === 402 ? "no_credits" : response.status === 429 ? "rate_limited" : "provider";
      let message = "";
      try {
        const body = await response.json();
        const err = body.error || {};
        if (err.code && p.signaling !== "ephemeral") code = err.code;
        message = err.message || "";
      } catch (e) { /* not JSON */ }
      fail(c, code, message);
      return;
    }
    const answer = await response.text();
    window.__fluentioCall.answerAt = performance.now();
    let callId = "";
    if (p.signaling === "ephemeral") {
      const location = response.headers.get("Location") || "";
      callId = location.split("/").filter(Boolean).pop() || "";
    } else {
      callId = response.headers.get("X-Fluentio-Call") || "";
      sessionId = response.headers.get("X-Fluentio-Session") || "";
      c.sessionId = sessionId;
    }
    window.__fluentioCall.callId = callId;
    window.__fluentioCall.sessionId = sessionId;
    try {
      await c.pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (err) {
      fail(c, "provider", "The tutor service sent an answer the browser could not use.");
      return;
    }
    c.sessionId = sessionId;
    emit("onCallStarted", callId, sessionId);
    c.sampler = setInterval(() => sample(c), SAMPLE_MS);
    c.flusher = setInterval(() => flush(c), TRANSCRIPT_FLUSH_MS);
  };

  // The microphone check: listen for CHECK_MS, then report the loudest frame, the
  // room's level between words (dBFS) and how many milliseconds of speech the model heard.
  const checkMic = async () => {
    if (call.current || checking.current) return;
    const missing = missingCapability();
    if (missing) { emit("onError", missing, ""); return; }
    const k = { frames: [], peak: 0, closed: false };
    checking.current = k;
    const finish = () => {
      k.closed = true;
      clearInterval(k.sampler);
      clearTimeout(k.timer);
      if (k.vad) { k.vad.target.frame = null; k.vad.instance.destroy().catch(() => {}); }
      if (k.stream) k.stream.getTracks().forEach((t) => t.stop());
      if (k.ctx) k.ctx.close().catch(() => {});
      if (meterRef.current) meterRef.current.style.width = "0%";
      checking.current = null;
    };
    try {
      k.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: false },
      });
    } catch (err) {
      finish();
      emit("onError", errorFromMedia(err), String((err && err.message) || err));
      return;
    }
    try {
      k.ctx = new (window.AudioContext || window.webkitAudioContext)();
      k.ctx.resume().catch(() => {});
      const analyser = k.ctx.createAnalyser();
      analyser.fftSize = 512;
      const buf = new Float32Array(analyser.fftSize);
      k.ctx.createMediaStreamSource(k.stream).connect(analyser);
      k.sampler = setInterval(() => {
        const level = rms(analyser, buf);
        k.peak = Math.max(k.peak, level);
        if (meterRef.current) meterRef.current.style.width = `${Math.min(100, Math.round(level * 400))}%`;
      }, 20);
      try {
        k.vad = await takeVad(vadBase);
        k.vad.instance.options.audioContext = k.ctx;
        k.vad.instance.options.getStream = async () => k.stream;
        k.vad.target.frame = (probs, frame) => { if (!k.closed) k.frames.push([probs.isSpeech, rmsOf(frame)]); };
        await k.vad.instance.start();
      } catch (err) {
        k.vad = null; // levels only
      }
      prepareVad(vadBase).catch(() => {});
      await new Promise((resolve) => { k.timer = setTimeout(resolve, CHECK_MS); });
    } catch (err) {
      finish();
      emit("onError", "call_failed", String((err && err.message) || err));
      return;
    }
    const quiet = k.frames.filter(([p]) => p < SILENCE_PROB).map(([, level]) => level).sort((a, b) => a - b);
    const noise = quiet.length ? quiet[Math.floor(quiet.length / 2)] : 0;
    const speechMs = k.frames.filter(([p, level]) => p >= SPEECH_PROB && level >= SPEECH_MIN_RMS).length * VAD_FRAME_MS;
    const peak = k.peak;
    finish();
    window.__fluentioMicCheck = { peak: dbfs(peak), noise: dbfs(noise), speechMs, model: !!k.frames.length };
    emit("onMicCheck", dbfs(peak), dbfs(noise), speechMs);
  };

  // The Start button (marked data-call-start) opens the microphone in its own click.
  useEffect(() => {
    const onClick = (e) => {
      const target = e.target && e.target.closest && e.target.closest("[data-call-start]");
      if (!target || target.disabled || (call.current && !call.current.closed) || checking.current) return;
      // Offline, the page's guard drops the click: never open the microphone for it.
      if (!navigator.onLine) return;
      begin();
    };
    document.addEventListener("click", onClick, true);
    return () => document.removeEventListener("click", onClick, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Load the speech model while the learner picks a topic, so Start pays nothing.
  useEffect(() => {
    if (missingCapability()) return;
    prepareVad(vadBase).catch(() => {});
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Act on each new command from the state.
  useEffect(() => {
    if (!props.commandId) return;
    if (props.command === "start") start();
    else if (props.command === "stop") { flushNow(); stop("ended_by_learner"); }
    else if (props.command === "release") { if (call.current && !call.current.dialing) stop("", false); }
    else if (props.command === "check") checkMic();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.commandId]);

  const flushNow = () => { if (call.current) flush(call.current); };

  // Mute: the mic track stops sending; the call stays up.
  useEffect(() => {
    if (!props.pushToTalk) talking.current = false;
    syncTrack(call.current);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.muted, props.pushToTalk]);

  // Space is the push-to-talk key, except while typing in a field.
  useEffect(() => {
    if (!props.pushToTalk) return undefined;
    const typing = (e) => e.target && e.target.closest && e.target.closest("input, textarea, select, [contenteditable]");
    const down = (e) => {
      if (e.code !== "Space" || e.repeat || typing(e) || !call.current) return;
      e.preventDefault();
      setTalking(true);
    };
    const up = (e) => { if (e.code === "Space" && talking.current) { e.preventDefault(); setTalking(false); } };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    return () => { window.removeEventListener("keydown", down); window.removeEventListener("keyup", up); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.pushToTalk]);

  // Leaving the page (or closing the tab) ends the call at once: the server is told
  // with a beacon, which survives the page going away.
  useEffect(() => {
    const endNow = () => {
      const c = call.current;
      if (!c) return;
      if (c.sessionId) navigator.sendBeacon(`/api/realtime/calls/${c.sessionId}/end`);
      stop("", false);
    };
    window.addEventListener("pagehide", endNow);
    return () => { window.removeEventListener("pagehide", endNow); endNow(); };
  }, []);

  const meter = (
    <div
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={0}
      style={{ height: "0.5rem", width: "100%", borderRadius: "999px", background: "var(--gray-a4)", overflow: "hidden" }}
    >
      <div
        ref={meterRef}
        data-testid="mic-level"
        style={{ height: "100%", width: "0%", background: "var(--accent-9)", transition: "width 60ms linear" }}
      />
    </div>
  );
  if (!props.pushToTalk) return meter;
  return (
    <div style={{ display: "flex", flexDirection: "column", gap: "0.75rem", width: "100%" }}>
      {meter}
      <button
        ref={pttRef}
        type="button"
        data-testid="push-to-talk"
        aria-pressed="false"
        disabled={!props.inCall}
        onPointerDown={(e) => { e.preventDefault(); setTalking(true); }}
        onPointerUp={() => setTalking(false)}
        onPointerLeave={() => setTalking(false)}
        onPointerCancel={() => setTalking(false)}
        onContextMenu={(e) => e.preventDefault()}
        style={{
          minHeight: "3.5rem", borderRadius: "var(--radius-4)", border: "2px solid var(--accent-9)",
          background: "var(--accent-3)", color: "var(--gray-12)", fontSize: "1.05rem", fontWeight: 600,
          touchAction: "none", userSelect: "none", cursor: props.inCall ? "pointer" : "not-allowed",
        }}
      >
        Hold to talk (or hold Space)
      </button>
    </div>
  );
}
