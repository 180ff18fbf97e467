// FIFO of hosts waiting for a worker. Array#shift on a large array is a full copy in V8 (arrays in
// large-object space cannot be left-trimmed), so a million-host queue drained with shift() is
// quadratic: a read index instead, and a small stack of hosts handed back by a dead worker.

export class JobQueue<T> {
  private items: T[] = [];
  private head = 0;
  /** Handed back (their worker died before starting them): these go out first. */
  private returned: T[] = [];

  get length(): number {
    return this.items.length - this.head + this.returned.length;
  }

  /** Append every item in order (a loop: spreading an unbounded array into push() overflows the stack). */
  pushAll(items: readonly T[]): void {
    for (const item of items) this.items.push(item);
  }

  /** Put an item back at the front. */
  returnToFront(item: T): void {
    this.returned.push(item);
  }

  shift(): T | undefined {
    if (this.returned.length > 0) return this.returned.pop();
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.head++;
    // Release what was taken once it is most of the array, so memory follows the queue's length.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Remove and return everything, front first. */
  takeAll(): T[] {
    const all = this.returned.reverse();
    for (let i = this.head; i < this.items.length; i++) all.push(this.items[i]!);
    this.items = [];
    this.head = 0;
    this.returned = [];
    return all;
  }
}
