// The parent's count of bastion handshakes in progress, across every worker: sshd's MaxStartups
// counts unauthenticated connections per server, not per herd worker, so the limit is kept here
// and each worker asks before it opens a connection to a jump host.

interface Waiter {
  owner: object;
  ticket: number;
  grant: () => void;
}

interface HopState {
  active: number;
  waiting: Waiter[];
}

export class JumpHandshakeGate {
  private readonly hops = new Map<string, HopState>();
  /** Granted tickets per owner (worker), so a worker that dies gives its slots back. */
  private readonly held = new Map<object, Map<number, string>>();

  constructor(private readonly perHop: number) {}

  /** `grant` is called (maybe at once) when `owner` may start a handshake with `hop`. */
  request(owner: object, hop: string, ticket: number, grant: () => void): void {
    const state = this.stateOf(hop);
    state.waiting.push({ owner, ticket, grant });
    this.pump(hop, state);
  }

  /** The handshake behind `ticket` ended (authenticated or failed). */
  done(owner: object, ticket: number): void {
    const tickets = this.held.get(owner);
    const hop = tickets?.get(ticket);
    if (hop === undefined) return;
    tickets!.delete(ticket);
    const state = this.stateOf(hop);
    state.active--;
    this.pump(hop, state);
  }

  /** A worker that exited: forget what it waited for and free what it held. */
  dropOwner(owner: object): void {
    for (const state of this.hops.values()) state.waiting = state.waiting.filter((w) => w.owner !== owner);
    for (const ticket of [...(this.held.get(owner)?.keys() ?? [])]) this.done(owner, ticket);
    this.held.delete(owner);
  }

  /** Handshakes in progress with `hop` now (for tests). */
  active(hop: string): number {
    return this.hops.get(hop)?.active ?? 0;
  }

  private stateOf(hop: string): HopState {
    let state = this.hops.get(hop);
    if (!state) this.hops.set(hop, (state = { active: 0, waiting: [] }));
    return state;
  }

  private pump(hop: string, state: HopState): void {
    while (state.active < this.perHop && state.waiting.length > 0) {
      const w = state.waiting.shift()!;
      state.active++;
      let tickets = this.held.get(w.owner);
      if (!tickets) this.held.set(w.owner, (tickets = new Map()));
      tickets.set(w.ticket, hop);
      w.grant();
    }
  }
}
