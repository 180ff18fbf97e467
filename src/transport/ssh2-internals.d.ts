// The parts of ssh2 1.17's internal modules that ssh2-certs.ts extends (ssh2 is pinned to that exact version).
declare module 'ssh2/lib/protocol/keyParser.js' {
  const keyParser: { parseDERKey: (data: Buffer, type: string) => unknown };
  export default keyParser;
}
declare module 'ssh2/lib/protocol/constants.js' {
  const constants: { SUPPORTED_SERVER_HOST_KEY: string[]; DEFAULT_SERVER_HOST_KEY: string[] };
  export default constants;
}
declare module 'ssh2/lib/protocol/utils.js' {
  const utils: {
    convertSignature: (signature: Buffer, keyType: string) => Buffer | false | undefined;
    sendPacket: import('./ssh2-hostkeys.js').SendPacket;
  };
  export default utils;
}
declare module 'ssh2/lib/protocol/handlers.js' {
  /** Protocol's message handlers, by message number; Protocol reads this array for every packet. */
  const handlers: import('./ssh2-hostkeys.js').MessageHandlers;
  export default handlers;
}
