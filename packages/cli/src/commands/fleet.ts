/**
 * Fleet commands: the control plane (`hotpatch server`) and its API from the command line, one
 * file per noun under ./fleet/ (server, login, publish, devices, advisories, policies,
 * deployments, report, tokens).
 */
import type { Command } from 'commander';
import { registerAdvisoriesCommands } from './fleet/advisories.js';
import { registerDeploymentCommands } from './fleet/deploy.js';
import { registerDevicesCommand } from './fleet/devices.js';
import { registerLoginCommands } from './fleet/login.js';
import { registerPoliciesCommands } from './fleet/policies.js';
import { registerPublishCommand } from './fleet/publish.js';
import { registerReportCommand } from './fleet/report.js';
import { registerServerCommand } from './fleet/server.js';
import { registerTokensCommands } from './fleet/tokens.js';

export { api, FleetRequestError, parseRing } from './fleet/client.js';

/** Registers the fleet commands on the `hotpatch` program. */
export function registerFleetCommands(program: Command): void {
  registerServerCommand(program);
  registerLoginCommands(program);
  registerPublishCommand(program);
  registerDevicesCommand(program);
  registerAdvisoriesCommands(program);
  registerPoliciesCommands(program);
  registerDeploymentCommands(program);
  registerReportCommand(program);
  registerTokensCommands(program);
}
