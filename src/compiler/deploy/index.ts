// SSH deploy targets: list, probe, trust host keys, copy an export, run it with live step lines, pull results.
export * from './errors';
export * from './quote';
export * from './sshConfig';
export * from './target';
export * from './ssh';
export * from './hostKeys';
export * from './probe';
export * from './transfer';
export * from './run';
export * from './deploy';
