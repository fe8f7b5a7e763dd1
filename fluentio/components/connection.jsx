// What the learner sees when the page loses Fluentio's server, and the guard that keeps
// a button pressed offline from firing later.
//
// Reflex queues events while its websocket is down and sends them once it is back, so a
// "Start" pressed offline would start (and charge) a lesson minutes later. These run in
// the browser alone, because offline is exactly when the server cannot answer:
// - ConnectionNotice: a banner while the browser is offline or Reflex's socket keeps
//   failing to connect (`serverLost`, Reflex's own connection errors), in place of
//   Reflex's developer toast. `floating` is the app-wide one; `variant="call"` is the
//   wording used during a lesson.
// - OnlineGuard: wraps a button; a click while offline (or while Reflex cannot reach the
//   server) never reaches it and shows `message` instead. The server also refuses a click
//   that arrives over a newer connection than the one it was made on
//   (fluentio/classroom/view_state.py): a socket can drop while the browser still
//   believes it is online.
import { useEffect, useState } from "react";

// Reflex reports a connection error a moment after a drop; a blip shorter than this is
// not worth a banner.
const SHOW_AFTER_MS = 600;

function useOnline() {
  const [online, setOnline] = useState(true);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    update();
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}

const WORDING = {
  page: {
    offline: ["You're offline.", "Fluentio will reconnect by itself when your connection is back."],
    server: ["Reconnecting…", "Fluentio lost its connection to the server. Nothing is lost; this page catches up when it's back."],
  },
  call: {
    offline: [
      "You're offline — reconnecting…",
      "Your lesson so far is saved. If the connection comes back in a few seconds the call goes on; captions and the time left catch up.",
    ],
    server: [
      "Reconnecting…",
      "Your tutor can still hear you: the audio goes straight to the tutor. Captions and the time left catch up when the connection is back.",
    ],
  },
};

export function ConnectionNotice({ serverLost, variant, floating }) {
  const online = useOnline();
  const lost = !online || Boolean(serverLost);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!lost) {
      setShown(false);
      return undefined;
    }
    if (!online) {
      setShown(true);
      return undefined;
    }
    const timer = setTimeout(() => setShown(true), SHOW_AFTER_MS);
    return () => clearTimeout(timer);
  }, [lost, online]);
  useEffect(() => {
    // The app-wide (floating) notice marks the document, so views can grey out what is stale.
    if (!floating) return undefined;
    document.documentElement.dataset.connection = shown ? "lost" : "ok";
    return () => { delete document.documentElement.dataset.connection; };
  }, [shown, floating]);
  const texts = WORDING[variant] || WORDING.page;
  const [title, detail] = online ? texts.server : texts.offline;
  // The live region stays in the page so screen readers announce what appears in it.
  return (
    <div className={`fluentio-connection${floating ? " fluentio-connection--floating" : ""}`} role="status">
      {shown ? (
        <div
          className="fluentio-connection__notice"
          data-testid={floating ? "connection-notice" : "call-connection"}
          data-state={online ? "reconnecting" : "offline"}
        >
          <span className="fluentio-connection__dot" aria-hidden="true" />
          <span>
            <strong>{title}</strong> {detail}
          </span>
        </div>
      ) : null}
    </div>
  );
}

export function OnlineGuard({ message, serverLost, children }) {
  const online = useOnline();
  const [refused, setRefused] = useState(false);
  useEffect(() => {
    if (online && !serverLost) setRefused(false);
  }, [online, serverLost]);
  const onClickCapture = (event) => {
    if (navigator.onLine && !serverLost) return;
    // Stop the click before the button's own handler queues an event for later.
    event.stopPropagation();
    event.preventDefault();
    setRefused(true);
  };
  return (
    <div className="fluentio-online-guard" onClickCapture={onClickCapture}>
      {children}
      {refused ? (
        <p className="fluentio-online-guard__message" role="alert" data-testid="offline-refusal">
          {message}
        </p>
      ) : null}
    </div>
  );
}
