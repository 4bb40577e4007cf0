import { useState } from "react";
import { useMutation } from "urql";

import {
  RestartWorkspaceServiceDocument,
  RunWorkspaceJobDocument,
  ServiceLogStreamDocument,
  StartAllWorkspaceServicesDocument,
  StartWorkspaceServiceDocument,
  StopAllWorkspaceServicesDocument,
  StopWorkspaceServiceDocument,
  type ServiceActionResultFragment,
  type ServiceLogStreamSubscription,
  type ServiceStatus,
  type WorkspaceDetailFragment,
} from "../graphql/generated";
import { Alert } from "../ui/Alert";
import { Pill, type PillTone } from "../ui/Pill";
import {
  ALL_SERVICES,
  PENDING_LABELS,
  useCommandActions,
  type ActionOutcome,
  type CommandAction,
} from "./commandActions";
import { SOURCE_LABELS } from "./labels";
import { useFollowedLog } from "./logStream";
import { LogView } from "./OperationLog";

type Command = WorkspaceDetailFragment["commands"][number];

const SERVICE_LABELS: Record<ServiceStatus, string> = {
  STARTING: "Starting",
  RUNNING: "Running",
  STOPPING: "Stopping",
  STOPPED: "Stopped",
  FAILED: "Failed",
};

const SERVICE_TONES: Record<ServiceStatus, PillTone> = {
  STARTING: "busy",
  RUNNING: "good",
  STOPPING: "busy",
  STOPPED: "neutral",
  FAILED: "bad",
};

/**
 * The Workspace commands panel above the tabs: where the runtime config
 * comes from, its services with their live status and start, stop and
 * restart, and its jobs with Run.
 */
export function CommandsPanel({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  const services = workspace.commands.filter((c) => c.kind === "SERVICE");
  const jobs = workspace.commands.filter((c) => c.kind === "JOB");
  const noConfig = workspace.runtimeConfigSource === "NONE";
  const noCwd = workspace.cwd === "";
  const closed = workspace.status === "ARCHIVED";
  const actions = useWorkspaceActions(workspace.id);
  const { last } = actions;
  const serviceNames = services.map((c) => c.name);
  // While every service starts or stops, each one shows it and waits.
  const allPending = actions.pendingFor(ALL_SERVICES)?.action;

  const controls = (command: Command, kinds: CommandAction[]) => {
    const isService = command.kind === "SERVICE";
    return (
      <CommandControls
        key={command.name}
        workspaceId={workspace.id}
        command={command}
        kinds={kinds}
        disabled={noCwd || closed}
        pending={
          actions.pendingFor(command.name)?.action ??
          (isService ? allPending : undefined)
        }
        onAction={(action) =>
          actions.act(command.name, action, isService ? [ALL_SERVICES] : [])
        }
      />
    );
  };

  return (
    <section className="card stack" aria-labelledby="commands-heading">
      <div className="card-heading">
        <h3 id="commands-heading">Workspace commands</h3>
        <p className="muted small">
          Runtime config source:{" "}
          <strong>{SOURCE_LABELS[workspace.runtimeConfigSource]}</strong>
        </p>
      </div>
      {noCwd && (
        <p className="hint">
          This workspace has no working directory, so no command can run in it.
          Set one under Configuration, Workspace settings.
        </p>
      )}
      <div className="commands">
        <div className="stack">
          <div className="card-heading">
            <h4>Services</h4>
            {services.length > 0 && (
              <AllServicesControls
                services={services}
                disabled={
                  noCwd ||
                  closed ||
                  [ALL_SERVICES, ...serviceNames].some(
                    (name) => actions.pendingFor(name) !== undefined,
                  )
                }
                pending={allPending}
                onAction={(action) =>
                  actions.act(ALL_SERVICES, action, serviceNames)
                }
              />
            )}
          </div>
          {noConfig ? (
            <p className="muted">
              No runtime config: define services on the project workspace, or
              override the runtime config on this workspace.
            </p>
          ) : services.length === 0 ? (
            <p className="muted">The runtime config defines no services.</p>
          ) : (
            <ul className="command-list" aria-label="Services">
              {services.map((c) => controls(c, ["start", "stop", "restart"]))}
            </ul>
          )}
        </div>
        <div className="stack">
          <h4>Jobs</h4>
          {jobs.length === 0 ? (
            <p className="muted">No jobs defined.</p>
          ) : (
            <ul className="command-list" aria-label="Jobs">
              {jobs.map((c) => controls(c, ["run"]))}
            </ul>
          )}
        </div>
      </div>
      <div aria-live="polite">
        {actions.pending.map((p) => (
          <p key={p.command} className="muted small">
            {PENDING_LABELS[p.action]} {p.command}…
          </p>
        ))}
      </div>
      {last !== null &&
        (last.ok ? (
          <p role="status" className="confirmation">
            {last.message}
          </p>
        ) : (
          <Alert>{last.message}</Alert>
        ))}
    </section>
  );
}

const BUTTON_LABELS: Record<CommandAction, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  run: "Run",
};

/** Start all and Stop all: every service of the workspace at once. */
function AllServicesControls(props: {
  services: Command[];
  disabled: boolean;
  pending: CommandAction | undefined;
  onAction: (action: "start" | "stop") => void;
}) {
  const { services, disabled, pending, onAction } = props;
  const live = services.filter((c) => isLive(c.service));
  const buttons = [
    {
      action: "start",
      label: "Start all",
      allowed: live.length < services.length,
    },
    { action: "stop", label: "Stop all", allowed: live.length > 0 },
  ] as const;
  return (
    <div className="button-row">
      {buttons.map(({ action, label, allowed }) => (
        <button
          key={action}
          type="button"
          className="secondary small-button"
          aria-label={`${label} services`}
          disabled={disabled || !allowed}
          onClick={() => onAction(action)}
        >
          {pending === action ? `${PENDING_LABELS[action]}…` : label}
        </button>
      ))}
    </div>
  );
}

function isLive(service: Command["service"]): boolean {
  return (
    service !== null &&
    (service.status === "RUNNING" || service.status === "STARTING")
  );
}

interface CommandControlsProps {
  workspaceId: string;
  command: Command;
  kinds: CommandAction[];
  disabled: boolean;
  pending: CommandAction | undefined;
  onAction: (action: CommandAction) => void;
}

function CommandControls(props: CommandControlsProps) {
  const { workspaceId, command, kinds, disabled, pending, onAction } = props;
  const service = command.service;
  const running = isLive(service);
  const [showOutput, setShowOutput] = useState(false);
  const runId = service?.startOperation?.id ?? null;
  const outputId = `service-output-${command.name}`;

  const allowed = (action: CommandAction) =>
    action === "start" ? !running : action === "stop" ? running : true;

  return (
    <li className="command" aria-label={command.name}>
      <div>
        <strong>{command.name}</strong>
        <code className="muted small">{command.command}</code>
        {service !== null && (
          <span className="service-state small">
            <Pill tone={SERVICE_TONES[service.status]}>
              {SERVICE_LABELS[service.status]}
            </Pill>
            {service.status === "RUNNING" && service.health !== "UNKNOWN" && (
              <span>
                {service.health === "HEALTHY" ? "healthy" : "unhealthy"}
              </span>
            )}
            {service.url !== null && service.status === "RUNNING" ? (
              <a href={service.url} target="_blank" rel="noreferrer">
                {service.url}
              </a>
            ) : (
              service.port !== null && <span>port {service.port}</span>
            )}
            {service.status === "FAILED" && service.failureReason !== null && (
              <span className="error-text">{service.failureReason}</span>
            )}
          </span>
        )}
      </div>
      <div className="button-row">
        {kinds.map((action) => (
          <button
            key={action}
            type="button"
            className="secondary small-button"
            aria-label={`${BUTTON_LABELS[action]} ${command.name}`}
            disabled={disabled || pending !== undefined || !allowed(action)}
            onClick={() => onAction(action)}
          >
            {pending === action
              ? `${PENDING_LABELS[action]}…`
              : BUTTON_LABELS[action]}
          </button>
        ))}
        {runId !== null && (
          <button
            type="button"
            className="secondary small-button"
            aria-label={`Output of ${command.name}`}
            aria-expanded={showOutput}
            aria-controls={outputId}
            onClick={() => setShowOutput((shown) => !shown)}
          >
            Output
          </button>
        )}
      </div>
      {showOutput && runId !== null && (
        <div id={outputId} className="service-output">
          <ServiceOutput
            workspaceId={workspaceId}
            name={command.name}
            runId={runId}
          />
        </div>
      )}
    </li>
  );
}

/**
 * A service's output, live: the current run's log from its start, and after
 * a restart the next run's below it.
 */
function ServiceOutput(props: {
  workspaceId: string;
  name: string;
  runId: string;
}) {
  const { workspaceId, name, runId } = props;
  const state = useFollowedLog(
    ServiceLogStreamDocument,
    { workspaceId, name, operationId: runId, offset: 0 },
    serviceEvent,
    "\n--- restarted ---\n",
  );
  return (
    <LogView
      state={state}
      label={`Live output of ${name}`}
      ended="This run has ended."
    />
  );
}

function serviceEvent(data: ServiceLogStreamSubscription | undefined) {
  return data?.serviceLog;
}

/** The panel's actions, sent as mutations and turned into outcomes. */
function useWorkspaceActions(workspaceId: string) {
  const actions = useCommandActions();
  const [, start] = useMutation(StartWorkspaceServiceDocument);
  const [, stop] = useMutation(StopWorkspaceServiceDocument);
  const [, restart] = useMutation(RestartWorkspaceServiceDocument);
  const [, run] = useMutation(RunWorkspaceJobDocument);
  const [, startAll] = useMutation(StartAllWorkspaceServicesDocument);
  const [, stopAll] = useMutation(StopAllWorkspaceServicesDocument);

  async function sendAll(action: CommandAction): Promise<ActionOutcome> {
    if (action === "start") {
      const result = await startAll({ workspaceId });
      const answer = result.data?.startWorkspaceService;
      return serviceOutcome(answer, result.error?.message);
    }
    const result = await stopAll({ workspaceId });
    const answer = result.data?.stopWorkspaceService;
    return serviceOutcome(answer, result.error?.message);
  }

  async function send(
    name: string,
    action: CommandAction,
  ): Promise<ActionOutcome> {
    const variables = { workspaceId, name };
    if (action === "run") {
      const result = await run(variables);
      const answer = result.data?.runWorkspaceJob;
      if (answer === undefined) return failure(result.error?.message);
      if (answer.__typename !== "RunWorkspaceJobSuccess") {
        return failure(answer.message);
      }
      const { status, exitCode, stderrExcerpt } = answer.operation;
      if (status === "SUCCEEDED") return { ok: true };
      const detail = stderrExcerpt.trim().split("\n").pop() ?? "";
      return failure(
        `Workspace job failed with exit code ${exitCode ?? "?"}` +
          (detail === "" ? "." : `: ${detail}`),
      );
    }
    if (action === "start") {
      const result = await start(variables);
      const answer = result.data?.startWorkspaceService;
      return serviceOutcome(answer, result.error?.message);
    }
    if (action === "stop") {
      const result = await stop(variables);
      const answer = result.data?.stopWorkspaceService;
      return serviceOutcome(answer, result.error?.message);
    }
    const result = await restart(variables);
    const answer = result.data?.restartWorkspaceService;
    return serviceOutcome(answer, result.error?.message);
  }

  return {
    ...actions,
    act: (name: string, action: CommandAction, blockers: string[]) =>
      void actions.perform(
        name,
        action,
        () => (name === ALL_SERVICES ? sendAll(action) : send(name, action)),
        blockers,
      ),
  };
}

function serviceOutcome(
  answer: ServiceActionResultFragment | undefined,
  transportError: string | undefined,
): ActionOutcome {
  if (answer === undefined) return failure(transportError);
  if (answer.__typename !== "WorkspaceServicesSuccess") {
    return failure(answer.message);
  }
  const failed = answer.services.find((s) => s.status === "FAILED");
  if (failed !== undefined) {
    return failure(
      `Workspace service ${failed.name} failed` +
        (failed.failureReason ? `: ${failed.failureReason}` : "."),
    );
  }
  return { ok: true };
}

function failure(message: string | undefined): ActionOutcome {
  return { ok: false, error: message || "The server did not answer." };
}
