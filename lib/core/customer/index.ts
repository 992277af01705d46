// The customer state domain core: types, reducers, merge and the derived view. Pure: no I/O.
export * from './state.ts';
export {
  REDUCERS,
  IDEMPOTENT_REDUCERS,
  applyEvent,
  foldEvents,
  describeEvent,
  eventTime,
  applyRuleState,
  recordContact,
  CUSTOM_FIELD_NAME,
  MAX_CUSTOM_STRING,
  type CustomerEvent,
  type Reducer,
  type ReducerKey,
} from './reducers.ts';
export { mergeCustomers, anonymize, type MergeOptions } from './merge.ts';
export {
  customerView,
  anonymousCounters,
  salesTotals,
  lifecycleStage,
  VIEW_FIELDS,
  CATEGORY_COUNTER_PREFIX,
  LIFECYCLE_STAGES,
  LIFECYCLE_AUTO,
  RENEWAL_WINDOW_DAYS,
  NEW_CUSTOMER_DAYS,
  ACTIVE_DAYS,
  type CustomerView,
  type CoreView,
  type LicenceView,
  type DeviceView,
  type LifecycleStage,
  type SalesTotals,
  type AnonymousCounters,
} from './view.ts';
