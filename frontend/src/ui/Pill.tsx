import type { ReactNode } from "react";

export type PillTone = "neutral" | "good" | "busy" | "bad";

/** A small rounded label for a mode, a kind or a status. */
export function Pill({
  tone = "neutral",
  children,
}: {
  tone?: PillTone;
  children: ReactNode;
}) {
  return <span className={`pill pill-${tone}`}>{children}</span>;
}
