// The profile item's key, in its own module: the customers repository writes the profile, and the
// journey positions' migration bumps its version (./journeys.ts), which ./customers.ts imports.
export const customerKey = (customerId: string) => ({ pk: `CUS#${customerId}`, sk: 'PROFILE' });
