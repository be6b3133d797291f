declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    redisUrl: string;
    /** The SeaweedFS binary (built once per machine), or '' with `seaweedfsProblem` saying why not. */
    seaweedfsWeed: string;
    seaweedfsProblem: string;
    /** The time-skipping test server's launcher (fetched once per machine), or '' with the problem. */
    timeSkippingServer: string;
    timeSkippingProblem: string;
  }
}

export {};
