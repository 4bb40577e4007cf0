import { useState, type ReactNode, type SubmitEvent } from "react";
import { useMutation } from "urql";

import {
  ResetWorkspaceRuntimeDocument,
  SaveWorkspaceSettingsDocument,
  type WorkspaceDetailFragment,
} from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { SOURCE_EXPLANATIONS, SOURCE_LABELS } from "./labels";
import {
  TEXT_FIELDS,
  changesToSave,
  draftFrom,
  isDirty,
  type SettingsDraft,
  type TextField,
} from "./settingsForm";

interface Problem {
  /** A text field, "runtime" for the JSON editor, or null for the card. */
  field: TextField | "runtime" | null;
  message: string;
}

interface WorkspaceSettingsCardProps {
  workspace: WorkspaceDetailFragment;
  /** Shown at the card's top right: the Close workspace button. */
  actions?: ReactNode;
}

export function WorkspaceSettingsCard(props: WorkspaceSettingsCardProps) {
  const { workspace, actions } = props;
  const [draft, setDraft] = useState(() => draftFrom(workspace));
  const [base, setBase] = useState(workspace);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [{ fetching: saving }, save] = useMutation(
    SaveWorkspaceSettingsDocument,
  );
  const [{ fetching: resetting }, resetRuntime] = useMutation(
    ResetWorkspaceRuntimeDocument,
  );

  // Saved settings changed underneath (a save, a reset, another operator):
  // follow them unless the operator is in the middle of an edit.
  if (workspace !== base) {
    if (!isDirty(base, draft)) setDraft(draftFrom(workspace));
    setBase(workspace);
  }

  const dirty = isDirty(workspace, draft);

  function edit(change: Partial<SettingsDraft>) {
    setDraft((current) => ({ ...current, ...change }));
    setNotice(null);
  }

  async function submit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault();
    setNotice(null);
    const changes = changesToSave(workspace, draft);
    if (!changes.ok) {
      setAdvancedOpen(true);
      setProblem({ field: "runtime", message: changes.runtimeError });
      return;
    }
    setProblem(null);
    const result = await save({ id: workspace.id, input: changes.input });
    const answer = result.data?.saveExecutionWorkspace;
    if (answer?.__typename === "ExecutionWorkspace") {
      setDraft(draftFrom(answer));
      setBase(answer);
      setNotice("Workspace settings saved.");
    } else if (answer !== undefined) {
      const field =
        answer.__typename === "InvalidInputError"
          ? fieldOf(answer.field)
          : null;
      if (field === "runtime") setAdvancedOpen(true);
      setProblem({ field, message: answer.message });
    } else {
      setProblem({ field: null, message: result.error?.message ?? "" });
    }
  }

  async function resetToInherit() {
    setNotice(null);
    const result = await resetRuntime({ id: workspace.id });
    const answer = result.data?.resetExecutionWorkspaceRuntime;
    if (answer?.__typename === "ExecutionWorkspace") {
      const saved = draftFrom(answer);
      setDraft((current) => ({
        ...current,
        inheritRuntime: true,
        runtimeJson: saved.runtimeJson,
      }));
      setBase(answer);
      setProblem(null);
      setNotice("The workspace inherits its runtime config again.");
    } else {
      const message = answer?.message ?? result.error?.message ?? "";
      setProblem({ field: null, message });
    }
  }

  function reset() {
    setDraft(draftFrom(workspace));
    setProblem(null);
    setNotice(null);
  }

  const problemOf = (field: Problem["field"]) =>
    problem !== null && problem.field === field ? problem.message : null;

  return (
    <section className="card stack" aria-labelledby="settings-heading">
      <div className="card-heading">
        <h3 id="settings-heading">Workspace settings</h3>
        {actions}
      </div>
      <form className="stack" onSubmit={(event) => void submit(event)}>
        <div className="field-grid">
          {TEXT_FIELDS.map((field) => (
            <TextInput
              key={field.name}
              name={field.name}
              label={field.label}
              multiline={"multiline" in field}
              value={draft[field.name]}
              error={problemOf(field.name)}
              onChange={(value) => edit({ [field.name]: value })}
            />
          ))}
        </div>

        <section className="notice" aria-labelledby="source-heading">
          <div>
            <h4 id="source-heading">Runtime config source</h4>
            <p>
              <strong>{SOURCE_LABELS[workspace.runtimeConfigSource]}</strong>
              {": "}
              {SOURCE_EXPLANATIONS[workspace.runtimeConfigSource]}
            </p>
          </div>
          {workspace.runtimeConfigSource === "EXECUTION_WORKSPACE_OVERRIDE" && (
            <button
              type="button"
              className="secondary"
              disabled={resetting}
              onClick={() => void resetToInherit()}
            >
              Reset to inherit
            </button>
          )}
        </section>

        <details
          className="advanced"
          open={advancedOpen}
          onToggle={(event) => setAdvancedOpen(event.currentTarget.open)}
        >
          <summary>Advanced runtime JSON</summary>
          <div className="stack">
            <label className="checkbox">
              <input
                type="checkbox"
                checked={draft.inheritRuntime}
                onChange={(event) =>
                  edit({ inheritRuntime: event.target.checked })
                }
              />
              Inherit project workspace runtime config
            </label>
            <label htmlFor="runtime-json">
              Runtime JSON{" "}
              <span className="muted small">
                ({"{"}"commands": [...]{"}"} with kind "service" or "job", or
                the legacy {"{"}"services": [...]{"}"})
              </span>
            </label>
            <textarea
              id="runtime-json"
              className="code"
              rows={12}
              spellCheck={false}
              value={draft.runtimeJson}
              readOnly={draft.inheritRuntime}
              aria-invalid={problemOf("runtime") !== null}
              aria-describedby="runtime-json-error"
              onChange={(event) => edit({ runtimeJson: event.target.value })}
            />
            {problemOf("runtime") !== null && (
              <p id="runtime-json-error" className="field-error" role="alert">
                {problemOf("runtime")}
              </p>
            )}
          </div>
        </details>

        {problemOf(null) !== null && <Alert>{problemOf(null)}</Alert>}
        <div className="button-row">
          <button type="submit" disabled={!dirty || saving}>
            {saving ? "Saving…" : "Save changes"}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={!dirty || saving}
            onClick={reset}
          >
            Reset
          </button>
          <p role="status" className="confirmation">
            {notice}
          </p>
        </div>
      </form>
    </section>
  );
}

interface TextInputProps {
  name: TextField;
  label: string;
  multiline: boolean;
  value: string;
  error: string | null;
  onChange: (value: string) => void;
}

function TextInput(props: TextInputProps) {
  const { name, label, multiline, value, error, onChange } = props;
  const id = `setting-${name}`;
  const common = {
    id,
    value,
    spellCheck: false,
    "aria-invalid": error !== null,
    "aria-describedby": error !== null ? `${id}-error` : undefined,
  };
  return (
    <div className={multiline ? "field field-wide" : "field"}>
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea
          {...common}
          className="code"
          rows={2}
          onChange={(event) => onChange(event.target.value)}
        />
      ) : (
        <input {...common} onChange={(event) => onChange(event.target.value)} />
      )}
      {error !== null && (
        <p id={`${id}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** Which part of the card a server's InvalidInputError.field points at. */
function fieldOf(field: string): Problem["field"] {
  if (field.startsWith("runtimeOverride")) return "runtime";
  const known = TEXT_FIELDS.find((text) => text.name === field);
  return known?.name ?? null;
}
