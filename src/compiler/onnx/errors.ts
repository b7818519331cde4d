// Errors the user can act on: each names the thing that is wrong and what to do about it.

export class ModelError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'ModelError';
  }
}
