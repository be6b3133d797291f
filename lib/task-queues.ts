/**
 * Every Temporal task queue, named once: workers poll them, workflows schedule on them, the API
 * starts workflows on `deals`. Pure constants, so workflow code imports them too.
 */
export const DEALS_TASK_QUEUE = 'deals';
export const SETTLEMENT_TASK_QUEUE = 'settlement';
export const COORDINATOR_TASK_QUEUE = 'coordinator';
/** Each seller's perimeter worker polls its own queue: only that seller's worker answers its queries. */
export const perimeterTaskQueue = (sellerId: string) => `perimeter.${sellerId}`;
