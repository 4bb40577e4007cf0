// Checks the Advanced runtime JSON before it is saved, so that a typo shows
// next to the editor instead of a round trip. The server checks again (and
// more: cwd, env, ports, readiness); its message is shown in the same place.

export type RuntimeJsonCheck =
  { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

const LISTS = ["commands", "services"] as const;

export function checkRuntimeJson(text: string): RuntimeJsonCheck {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `Invalid JSON: ${reason}` };
  }
  if (!isObject(value)) {
    return fail(
      `Expected a JSON object with "commands" or "services", ` +
        `got ${typeOf(value)}.`,
    );
  }
  const unknown = Object.keys(value).filter(
    (key) => !(LISTS as readonly string[]).includes(key),
  );
  if (unknown.length > 0) {
    const names = unknown.map((key) => `"${key}"`).join(", ");
    return fail(`Expected only "commands" or "services", got ${names}.`);
  }
  if (Object.keys(value).length === 0) {
    return fail(`Expected "commands" or "services", got an empty object.`);
  }
  const problem = LISTS.map((list) => listProblem(value, list)).find(
    (found) => found !== null,
  );
  return problem ? fail(problem) : { ok: true, value };
}

function listProblem(
  document: Record<string, unknown>,
  list: (typeof LISTS)[number],
): string | null {
  if (!(list in document)) return null;
  const entries = document[list];
  if (!Array.isArray(entries)) {
    return `"${list}" must be a list, got ${typeOf(entries)}.`;
  }
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const where = `${list}[${index}]`;
    if (!isObject(entry)) return `${where}: expected an object.`;
    for (const field of ["name", "command"]) {
      const text = entry[field];
      if (typeof text !== "string" || text.trim() === "") {
        return `${where}.${field}: expected a non-empty string.`;
      }
    }
    const kind = entry.kind;
    if (list === "commands" && kind !== "service" && kind !== "job") {
      return (
        `${where}.kind: expected "service" or "job", ` +
        `got ${JSON.stringify(kind) ?? "nothing"}.`
      );
    }
    const name = entry.name as string;
    if (seen.has(name)) return `${where}.name: "${name}" is used twice.`;
    seen.add(name);
  }
  return null;
}

function fail(error: string): RuntimeJsonCheck {
  return { ok: false, error };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return "an object";
}
