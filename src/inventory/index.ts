// The inventory's public face: parse text into targets, select them with --limit patterns.
export { parseInventory } from './parse.js';
export { readInventories } from './load.js';
export { selectTargets, type Selection } from './limit.js';
export { parseHostSpec, formatHostSpec, type HostSpec } from './host-spec.js';
export { expandRanges } from './ranges.js';
export { expandCidr } from './cidr.js';
export type { Target, InventorySource, ParsedInventory, GroupTree } from './types.js';
