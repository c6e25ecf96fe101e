// Scheduled bus rules: the local bus reads rate(...) schedules from the template and fires them as EventBridge does.
import { schedulePeriodMs } from '../eventbridge.js';

describe('GIVEN a rule schedule expression', () => {
  test('THEN rate(...) in minutes, hours and days becomes its period in ms', () => {
    expect(schedulePeriodMs('rate(15 minutes)', 'r')).toBe(900_000);
    expect(schedulePeriodMs('rate(1 minute)', 'r')).toBe(60_000);
    expect(schedulePeriodMs('rate(7 days)', 'r')).toBe(604_800_000);
    expect(schedulePeriodMs('rate(2 hours)', 'r')).toBe(7_200_000);
  });

  test('THEN a cron schedule is refused with a message naming the rule and the expression', () => {
    expect(() => schedulePeriodMs('cron(0 12 * * ? *)', 'Dev-Models/Drift')).toThrow(
      "Dev-Models/Drift: the local bus runs rate(...) schedules only, got 'cron(0 12 * * ? *)'",
    );
  });
});
