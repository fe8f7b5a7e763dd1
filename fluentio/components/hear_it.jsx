// "Hear it": a button that plays one clip, fetched on the first press only.
//
// The <audio> element keeps `preload="none"` and gets its source on the first press, so a
// page with twenty corrections fetches nothing until the learner asks. A clip that fails
// or that the browser blocks says so beside the button, in words.
import { useRef, useState } from "react";
import { Button } from "@radix-ui/themes";
import { Volume2 } from "lucide-react";

export function HearIt({ audioId, url, label, size }) {
  const audio = useRef(null);
  const [problem, setProblem] = useState("");
  const play = () => {
    const el = audio.current;
    if (!el) return;
    setProblem("");
    if (!el.getAttribute("src") || el.error) {
      el.onerror = () => setProblem("Couldn't play this. Try again in a moment.");
      el.src = url;
    }
    el.currentTime = 0;
    el.play().catch(() => {
      if (!el.error) setProblem("Your browser blocked the sound. Press Hear it again.");
    });
  };
  const small = size === "1";
  return (
    <span className="fluentio-hear-it" style={{ display: "inline-flex", gap: small ? "0.5rem" : "0.75rem", alignItems: "center", flexWrap: "wrap" }}>
      <Button type="button" size={small ? "1" : "2"} variant="soft" onClick={play} data-hear={audioId} aria-label={`Hear it: ${label}`}>
        <Volume2 size={16} aria-hidden="true" />
        Hear it
      </Button>
      <audio ref={audio} id={audioId} preload="none" />
      <span role="status" style={{ color: "var(--red-11)", fontSize: small ? "var(--font-size-1)" : "var(--font-size-2)" }}>
        {problem}
      </span>
    </span>
  );
}
