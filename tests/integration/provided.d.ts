declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    redisUrl: string;
  }
}

export {};
