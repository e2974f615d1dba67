import { Code, ConnectError } from "@connectrpc/connect";
import type { Config } from "@deeptrace/shared/config/schema";
import { resolveSecret } from "@deeptrace/shared/config/secret";
import type { AgentSpec } from "@deeptrace/shared/gen/deeptrace/agent/v1/agent_manager_service_pb";
import type { AgentRecord } from "../inventory/agent-record.js";
import { resolveSource } from "../inventory/config-seed.js";

const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]+=*$/;

function invalid(name: string, message: string): ConnectError {
  return new ConnectError(`agent ${name || "(unnamed)"}: ${message}`, Code.InvalidArgument);
}

/** A secret reference must be `env:` or `file:` and resolvable now; literal secrets are refused. */
function checkRef(name: string, field: string, ref: string): string | undefined {
  if (!ref) return undefined;
  if (!ref.startsWith("env:") && !ref.startsWith("file:")) {
    throw invalid(
      name,
      `${field} must be a reference, "env:NAME" or "file:/path"; secrets are never sent in requests`,
    );
  }
  try {
    resolveSecret(ref);
  } catch (error) {
    throw invalid(name, `${field}: ${(error as Error).message}`);
  }
  return ref;
}

/** Validates a RegisterAgent/UpdateAgent spec into an inventory record. */
export function recordFromSpec(spec: AgentSpec | undefined, config: Config): AgentRecord {
  if (!spec) throw new ConnectError("agent is required", Code.InvalidArgument);
  const name = spec.name;
  if (!NAME.test(name)) {
    throw invalid(
      name,
      "name must be lower case letters, digits, '_' and '-' (it names the span index)",
    );
  }
  if (!spec.host) throw invalid(name, "host is required");
  if (!spec.user) throw invalid(name, "user is required");
  if (spec.sshPort > 65535 || spec.apiPort > 65535)
    throw invalid(name, "ports must be at most 65535");
  if (spec.hostKeyFingerprint && !FINGERPRINT.test(spec.hostKeyFingerprint)) {
    throw invalid(name, 'host_key_fingerprint must look like "SHA256:<base64>" (ssh-keygen -lf)');
  }
  const passwordRef = checkRef(name, "password_ref", spec.passwordRef);
  if (!passwordRef && !spec.privateKeyPath) {
    throw invalid(name, "give password_ref or private_key_path");
  }
  const sudoPasswordRef = checkRef(name, "sudo_password_ref", spec.sudoPasswordRef);
  const passphraseRef = checkRef(name, "private_key_passphrase_ref", spec.privateKeyPassphraseRef);
  const defaults = config.agent_manager.agent_defaults;
  const source = spec.source;
  return {
    name,
    host: spec.host,
    sshPort: spec.sshPort || 22,
    user: spec.user,
    passwordRef,
    privateKeyPath: spec.privateKeyPath || undefined,
    privateKeyPassphraseRef: passphraseRef,
    hostKeyFingerprint: spec.hostKeyFingerprint || undefined,
    labels: { ...spec.labels },
    source: resolveSource(name, defaults.source, {
      repository_url: source?.repositoryUrl || undefined,
      ref: source?.ref || undefined,
      install_dir: source?.installDir || undefined,
      install_script: source?.installScript || undefined,
      run_script: source?.runScript || undefined,
      stop_script: source?.stopScript || undefined,
    }),
    apiPort: spec.apiPort || defaults.api_port,
    sudo: spec.sudo,
    sudoPasswordRef,
    blocks: {},
    configPatch: {},
    origin: "api",
  };
}
