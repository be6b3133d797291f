declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    redisUrl: string;
    /** The SeaweedFS binary (built once per machine), or '' with `seaweedfsProblem` saying why not. */
    seaweedfsWeed: string;
    seaweedfsProblem: string;
  }
}

export {};
