import { useState, type SubmitEvent } from "react";

import { Alert } from "../ui/Alert";
import { tokenFromInput } from "./token";

interface SignInProps {
  notice: string | null;
  onSignIn: (token: string) => void;
}

export function SignIn({ notice, onSignIn }: SignInProps) {
  const [text, setText] = useState("");
  const token = tokenFromInput(text);

  function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    if (token !== "") onSignIn(token);
  }

  return (
    <main className="sign-in">
      <h1 className="brand">Worksite</h1>
      <form className="card" onSubmit={submit}>
        <h2>Sign in</h2>
        <p className="muted">
          Open the sign-in link the server printed when it started, or paste
          that link or its token here.
        </p>
        {notice !== null && <Alert>{notice}</Alert>}
        <label htmlFor="sign-in-token">Token</label>
        <input
          id="sign-in-token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit" disabled={token === ""}>
          Sign in
        </button>
      </form>
    </main>
  );
}
