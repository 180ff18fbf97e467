// The playbook's public face: load and validate, render per host, plan batches and gates.
export { loadPlaybook, BUILTIN_VARS, type LoadOptions } from './load.js';
export { renderStep, hostVars } from './render.js';
export { builtinsOnlyProblem, checkExtraVars } from './extra-vars.js';
export { checkHostVars, usedInventoryTexts, type HostVarProblem } from './host-vars-check.js';
export { findTemplateVars, renderTemplate } from './template.js';
export type { Playbook, Play, Step, Amount, StepExpect } from './types.js';
