import type { ReactNode } from "react";

/** A message the user needs to read before going on. */
export function Alert({ children }: { children: ReactNode }) {
  return (
    <p className="alert" role="alert">
      {children}
    </p>
  );
}
