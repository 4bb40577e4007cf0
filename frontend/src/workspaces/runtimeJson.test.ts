import { describe, expect, it } from "vitest";

import { checkRuntimeJson } from "./runtimeJson";

describe("checkRuntimeJson", () => {
  it("accepts the commands shape with services and jobs", () => {
    const text = JSON.stringify({
      commands: [
        { name: "web", kind: "service", command: "npm run dev" },
        { name: "migrate", kind: "job", command: "npm run migrate" },
      ],
    });

    const check = checkRuntimeJson(text);

    expect(check).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it("accepts the legacy services shape without kinds", () => {
    const text = '{"services": [{"name": "db", "command": "postgres"}]}';
    expect(checkRuntimeJson(text).ok).toBe(true);
  });

  it("reports text that does not parse", () => {
    const check = checkRuntimeJson('{"commands": [');
    expect(check.ok).toBe(false);
    expect(!check.ok && check.error).toMatch(/^Invalid JSON: /);
  });

  it.each([
    ["[]", 'Expected a JSON object with "commands" or "services", got a list.'],
    [
      '"web"',
      'Expected a JSON object with "commands" or "services", got a string.',
    ],
    ["null", 'Expected a JSON object with "commands" or "services", got null.'],
    ["{}", 'Expected "commands" or "services", got an empty object.'],
    ['{"jobs": []}', 'Expected only "commands" or "services", got "jobs".'],
    ['{"commands": {}}', '"commands" must be a list, got an object.'],
  ])("refuses %s", (text, error) => {
    expect(checkRuntimeJson(text)).toEqual({ ok: false, error });
  });

  it("names the entry and field that is wrong", () => {
    const daemon =
      '{"commands": [{"name": "a", "command": "x", "kind": "daemon"}]}';
    expect(checkRuntimeJson(daemon)).toEqual({
      ok: false,
      error: 'commands[0].kind: expected "service" or "job", got "daemon".',
    });
    const nameless = '{"services": [{"command": "x"}]}';
    expect(checkRuntimeJson(nameless)).toEqual({
      ok: false,
      error: "services[0].name: expected a non-empty string.",
    });
  });

  it("refuses two commands with one name", () => {
    const text = JSON.stringify({
      commands: [
        { name: "web", kind: "service", command: "a" },
        { name: "web", kind: "job", command: "b" },
      ],
    });
    expect(checkRuntimeJson(text)).toEqual({
      ok: false,
      error: 'commands[1].name: "web" is used twice.',
    });
  });
});
