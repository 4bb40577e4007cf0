import { describe, expect, it } from "vitest";

import { TOKEN_KEY, captureTokenFromUrl, tokenFromInput } from "./token";

describe("captureTokenFromUrl", () => {
  it("leaves the address bar alone when there is no token", () => {
    window.history.replaceState(null, "", "/projects?tab=2");

    captureTokenFromUrl();

    expect(window.location.search).toBe("?tab=2");
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("keeps the stored token when the link's token is empty", () => {
    localStorage.setItem(TOKEN_KEY, "kept");
    window.history.replaceState(null, "", "/?token=");

    captureTokenFromUrl();

    expect(window.location.search).toBe("");
    expect(localStorage.getItem(TOKEN_KEY)).toBe("kept");
  });
});

describe("tokenFromInput", () => {
  it("accepts a bare token, trimmed", () => {
    expect(tokenFromInput("  abc-123 \n")).toBe("abc-123");
  });

  it("takes the token out of a pasted sign-in link", () => {
    expect(tokenFromInput("http://127.0.0.1:8000/?token=XYZ")).toBe("XYZ");
  });

  it("finds nothing in a link without a token", () => {
    expect(tokenFromInput("https://worksite.example/projects")).toBe("");
  });
});
