// Browser-only pieces of the full-screen call view (fluentio/components/call_view.py).
//
// - VoiceOrb: the tutor's state as a shape that moves with the voice. The call component
//   (fluentio/classroom/realtime_call.jsx) publishes the latest audio levels on
//   `window.__fluentioCall` (`tutorLevel`, `micLevel`); the orb reads them once per frame
//   and scales itself, without a React render per frame. Speaking/listening come from
//   the Python state as props and set the colour.
// - WakeLock: keeps the screen on while `active` (the Screen Wake Lock API, where the
//   browser has it). The lock is dropped by the browser whenever the tab is hidden, so it
//   is taken again when the tab comes back. `data-wake-lock` says what happened.
import { useEffect, useRef, useState } from "react";

// RMS levels of speech sit around 0.01–0.2; this maps them onto 0–1.
const LEVEL_GAIN = 6;

export function VoiceOrb({ speaking, listening, active }) {
  const orb = useRef(null);
  useEffect(() => {
    if (!active) {
      if (orb.current) orb.current.style.setProperty("--level", "0");
      return undefined;
    }
    let frame = 0;
    let shown = 0;
    const tick = () => {
      const metrics = window.__fluentioCall || {};
      const raw = speaking ? metrics.tutorLevel : listening ? metrics.micLevel : 0;
      const target = Math.min(1, (Number(raw) || 0) * LEVEL_GAIN);
      // Rise fast, fall slowly: reads as a voice rather than a flicker.
      shown = target > shown ? target : shown * 0.9 + target * 0.1;
      if (orb.current) orb.current.style.setProperty("--level", shown.toFixed(3));
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [speaking, listening, active]);
  const mode = speaking ? "speaking" : listening ? "listening" : active ? "waiting" : "idle";
  return (
    <div className="fluentio-orb" data-mode={mode} data-testid="tutor-orb" aria-hidden="true">
      <div className="fluentio-orb__halo" ref={orb} />
      <div className="fluentio-orb__core" />
    </div>
  );
}

export function WakeLock({ active }) {
  const [state, setState] = useState("released");
  useEffect(() => {
    if (!active) {
      setState("released");
      return undefined;
    }
    if (!("wakeLock" in navigator)) {
      setState("unsupported");
      return undefined;
    }
    let sentinel = null;
    let cancelled = false;
    const acquire = async () => {
      if (document.visibilityState !== "visible" || (sentinel && !sentinel.released)) return;
      try {
        sentinel = await navigator.wakeLock.request("screen");
        if (cancelled) {
          sentinel.release().catch(() => {});
          return;
        }
        setState("held");
        sentinel.addEventListener("release", () => {
          if (!cancelled) setState("released");
        });
      } catch (err) {
        // Refused (battery saver, a policy): the lesson works, the screen may dim.
        if (!cancelled) setState("denied");
      }
    };
    const onVisible = () => { acquire(); };
    document.addEventListener("visibilitychange", onVisible);
    acquire();
    return () => {
      cancelled = true;
      document.removeEventListener("visibilitychange", onVisible);
      if (sentinel && !sentinel.released) sentinel.release().catch(() => {});
      setState("released");
    };
  }, [active]);
  return <span hidden data-testid="wake-lock" data-wake-lock={state} />;
}
