import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { captureTokenFromUrl } from "./auth/token";
import "./ui/app.css";

captureTokenFromUrl();

const root = document.getElementById("root");
if (root === null) {
  throw new Error("Expected an element with id 'root' in index.html.");
}
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
