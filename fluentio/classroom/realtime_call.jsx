// The browser's half of a live lesson: microphone, WebRTC peer connection to the
// Realtime API (or the local simulator), the remote audio, and the `oai-events` data
// channel. It makes no decisions about users, credits or sessions: it acts on the
// `command` its Python state sets and reports what happens through event props.
//
// Interrupt-anytime: the client does not wait for the server. When the learner starts
// speaking over the tutor (a local mic-level detector, or the server's
// `input_audio_buffer.speech_started`, whichever comes first) the tutor's audio is
// silenced at once (gain 0), `response.cancel` and `output_audio_buffer.clear` are
// sent, and if the server does not truncate the tutor's item itself within 400 ms the
// client sends `conversation.item.truncate` with what the learner actually heard.
//
// For tests and the benchmark, timings are kept on `window.__fluentioCall`.
import { useEffect, useRef } from "react";

const TRANSCRIPT_FLUSH_MS = 120;
const SAMPLE_MS = 5;
const AUDIBLE_RMS = 0.004;
const BARGE_IN_HOLD_MS = 40;
const SILENT_HOLD_MS = 150;

function newMetrics() {
  return {
    startedAt: null,
    liveAt: null,
    callId: null,
    sessionId: null,
    speechStopped: [],
    replies: [],
    bargeIns: [],
    sent: [],
    received: 0,
    tutorAudibleFrames: 0,
  };
}

function rms(analyser, buffer) {
  analyser.getFloatTimeDomainData(buffer);
  let sum = 0;
  for (let i = 0; i < buffer.length; i++) sum += buffer[i] * buffer[i];
  return Math.sqrt(sum / buffer.length);
}

function errorFromMedia(err) {
  const name = (err && err.name) || "";
  if (name === "NotAllowedError" || name === "SecurityError") return "mic_denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return "no_mic";
  }
  return "mic_error";
}

export function RealtimeCall(props) {
  const latest = useRef(props);
  latest.current = props;
  const call = useRef(null);
  const meterRef = useRef(null);

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
    window.removeEventListener("offline", c.onOffline);
    window.removeEventListener("online", c.onOnline);
    try { c.dc && c.dc.close(); } catch (e) { /* already closed */ }
    try { c.pc && c.pc.close(); } catch (e) { /* already closed */ }
    if (c.stream) c.stream.getTracks().forEach((t) => t.stop());
    if (c.audioEl) { c.audioEl.srcObject = null; c.audioEl.remove(); }
    if (c.ctx) c.ctx.close().catch(() => {});
    if (meterRef.current) meterRef.current.style.width = "0%";
    if (report) emit("onStatus", "ended", reason || "");
  };

  const send = (c, event) => {
    if (c.dc && c.dc.readyState === "open") {
      c.dc.send(JSON.stringify(event));
      window.__fluentioCall.sent.push(event);
    }
  };

  const bargeIn = (c, source) => {
    if (!c.tutorSpeaking || c.interrupted === c.responseId) return;
    const onsetAt = performance.now();
    c.interrupted = c.responseId;
    c.gain.gain.value = 0; // silent now, before any network round trip
    c.tutorSpeaking = false;
    emit("onSpeaking", false);
    window.__fluentioCall.bargeIns.push({ source, onsetAt: c.voiceOnsetAt || onsetAt, silencedAt: onsetAt, silentAt: null });
    send(c, { type: "response.cancel" });
    send(c, { type: "output_audio_buffer.clear" });
    const itemId = c.itemId;
    const heardMs = Math.max(0, Math.round(onsetAt - (c.itemAudioStartedAt || onsetAt)));
    if (itemId) {
      clearTimeout(c.truncateTimer);
      c.truncateTimer = setTimeout(() => {
        if (!c.closed && !c.truncated.has(itemId)) {
          send(c, { type: "conversation.item.truncate", item_id: itemId, content_index: 0, audio_end_ms: heardMs });
        }
      }, 400);
    }
  };

  const caption = (c, id, speaker, text, final) => {
    const prev = c.captions.get(id);
    c.captions.set(id, { id, speaker, text, final });
    if (!prev || prev.text !== text || prev.final !== final) c.dirty.add(id);
  };

  const onServerEvent = (c, raw) => {
    let ev;
    try { ev = JSON.parse(raw); } catch (e) { return; }
    window.__fluentioCall.received += 1;
    const now = performance.now();
    switch (ev.type) {
      case "input_audio_buffer.speech_started":
        bargeIn(c, "server");
        emit("onListening", true);
        break;
      case "input_audio_buffer.speech_stopped":
        window.__fluentioCall.speechStopped.push(now);
        c.awaitingReplySince = now;
        emit("onListening", false);
        break;
      case "conversation.item.input_audio_transcription.delta": {
        const prev = c.captions.get(ev.item_id);
        caption(c, ev.item_id, "learner", ((prev && prev.text) || "") + (ev.delta || ""), false);
        break;
      }
      case "conversation.item.input_audio_transcription.completed":
        caption(c, ev.item_id, "learner", ev.transcript || "", true);
        break;
      case "response.created":
        c.responseId = ev.response && ev.response.id;
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
        const cut = c.interrupted && c.interrupted === ev.response_id;
        caption(c, ev.item_id, "tutor", cut ? ((prev && prev.text) || "") + " …" : ev.transcript || "", true);
        break;
      }
      case "output_audio_buffer.started":
        if (ev.response_id && ev.response_id === c.interrupted) break;
        c.responseId = ev.response_id || c.responseId;
        c.gain.gain.value = 1;
        c.tutorSpeaking = true;
        c.itemAudioStartedAt = now;
        emit("onSpeaking", true);
        break;
      case "output_audio_buffer.stopped":
      case "output_audio_buffer.cleared":
        if (c.tutorSpeaking) { c.tutorSpeaking = false; emit("onSpeaking", false); }
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
    // Local speech detector: an adaptive noise floor and a short hold.
    c.noiseFloor = mic < c.noiseFloor ? mic : c.noiseFloor * 0.999 + mic * 0.001;
    const voiced = mic > Math.max(0.02, c.noiseFloor * 4) && !latest.current.muted;
    if (voiced) {
      if (!c.voiceSince) { c.voiceSince = now; c.voiceOnsetAt = now; }
      if (now - c.voiceSince >= BARGE_IN_HOLD_MS) bargeIn(c, "local");
    } else {
      c.voiceSince = null;
    }
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

  const start = async () => {
    stop("", false);
    const p = latest.current;
    window.__fluentioCall = newMetrics();
    window.__fluentioCall.startedAt = performance.now();
    const c = {
      closed: false, captions: new Map(), dirty: new Set(), truncated: new Set(),
      tutorSpeaking: false, interrupted: null, responseId: null, itemId: null,
      noiseFloor: 0.01, voiceSince: null, live: false,
    };
    call.current = c;
    emit("onStatus", "connecting", "");
    try {
      c.stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      });
    } catch (err) {
      stop("", false);
      emit("onError", errorFromMedia(err), String((err && err.message) || err));
      return;
    }
    if (c.closed) return;
    const track = c.stream.getAudioTracks()[0];
    track.enabled = !p.muted;
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

    let response;
    let sessionId = p.sessionId || "";
    try {
      const offer = await c.pc.createOffer();
      await c.pc.setLocalDescription(offer);
      if (c.closed) return;
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
      if (c.closed) return;
      stop("", false);
      emit("onError", "network", "Could not reach the tutor service.");
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
      stop("", false);
      emit("onError", code, message);
      return;
    }
    const answer = await response.text();
    let callId = "";
    if (p.signaling === "ephemeral") {
      const location = response.headers.get("Location") || "";
      callId = location.split("/").filter(Boolean).pop() || "";
    } else {
      callId = response.headers.get("X-Fluentio-Call") || "";
      sessionId = response.headers.get("X-Fluentio-Session") || "";
    }
    c.sessionId = sessionId;
    window.__fluentioCall.callId = callId;
    window.__fluentioCall.sessionId = sessionId;
    try {
      await c.pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (err) {
      stop("", false);
      emit("onError", "provider", "The tutor service sent an answer the browser could not use.");
      return;
    }
    emit("onCallStarted", callId, sessionId);
    c.sampler = setInterval(() => sample(c), SAMPLE_MS);
    c.flusher = setInterval(() => flush(c), TRANSCRIPT_FLUSH_MS);
  };

  // Act on each new command from the state.
  useEffect(() => {
    if (!props.commandId) return;
    if (props.command === "start") start();
    else if (props.command === "stop") { flushNow(); stop("ended_by_learner"); }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.commandId]);

  const flushNow = () => { if (call.current) flush(call.current); };

  // Mute: the mic track stops sending; the call stays up.
  useEffect(() => {
    const c = call.current;
    if (c && c.stream) c.stream.getAudioTracks().forEach((t) => { t.enabled = !props.muted; });
  }, [props.muted]);

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

  return (
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
}
