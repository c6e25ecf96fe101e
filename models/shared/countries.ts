// Static country facts (UTC offset, currency, centroid) shared by the feature module and the simulator.

export interface CountryInfo {
  /** Standard-time UTC offset in minutes (daylight saving is ignored on purpose: the simulator stays simple). */
  readonly utcOffsetMinutes: number;
  readonly currency: string;
  readonly lat: number;
  readonly lon: number;
}

export const COUNTRIES: Readonly<Record<string, CountryInfo>> = {
  GB: { utcOffsetMinutes: 0, currency: 'GBP', lat: 54.0, lon: -2.0 },
  IE: { utcOffsetMinutes: 0, currency: 'EUR', lat: 53.2, lon: -8.0 },
  PT: { utcOffsetMinutes: 0, currency: 'EUR', lat: 39.6, lon: -8.0 },
  DE: { utcOffsetMinutes: 60, currency: 'EUR', lat: 51.2, lon: 10.4 },
  FR: { utcOffsetMinutes: 60, currency: 'EUR', lat: 46.6, lon: 2.4 },
  ES: { utcOffsetMinutes: 60, currency: 'EUR', lat: 40.2, lon: -3.6 },
  IT: { utcOffsetMinutes: 60, currency: 'EUR', lat: 42.8, lon: 12.5 },
  NL: { utcOffsetMinutes: 60, currency: 'EUR', lat: 52.2, lon: 5.5 },
  PL: { utcOffsetMinutes: 60, currency: 'PLN', lat: 52.1, lon: 19.4 },
  SE: { utcOffsetMinutes: 60, currency: 'SEK', lat: 62.0, lon: 15.0 },
  NG: { utcOffsetMinutes: 60, currency: 'NGN', lat: 9.1, lon: 8.7 },
  ZA: { utcOffsetMinutes: 120, currency: 'ZAR', lat: -29.0, lon: 24.0 },
  TR: { utcOffsetMinutes: 180, currency: 'TRY', lat: 39.0, lon: 35.2 },
  AE: { utcOffsetMinutes: 240, currency: 'AED', lat: 24.0, lon: 54.0 },
  IN: { utcOffsetMinutes: 330, currency: 'INR', lat: 22.0, lon: 79.0 },
  TH: { utcOffsetMinutes: 420, currency: 'THB', lat: 15.0, lon: 101.0 },
  SG: { utcOffsetMinutes: 480, currency: 'SGD', lat: 1.35, lon: 103.8 },
  CN: { utcOffsetMinutes: 480, currency: 'CNY', lat: 35.0, lon: 103.0 },
  JP: { utcOffsetMinutes: 540, currency: 'JPY', lat: 36.2, lon: 138.3 },
  AU: { utcOffsetMinutes: 600, currency: 'AUD', lat: -25.3, lon: 133.8 },
  BR: { utcOffsetMinutes: -180, currency: 'BRL', lat: -14.2, lon: -51.9 },
  US: { utcOffsetMinutes: -300, currency: 'USD', lat: 39.8, lon: -98.6 },
  CA: { utcOffsetMinutes: -300, currency: 'CAD', lat: 56.1, lon: -106.3 },
  MX: { utcOffsetMinutes: -360, currency: 'MXN', lat: 23.6, lon: -102.5 },
};

const EARTH_RADIUS_KM = 6371;
/** Distance assumed between two countries we have no centroid for (keeps the feature defined for any code). */
const UNKNOWN_DISTANCE_KM = 1500;

/** Great-circle distance between two countries' centroids; 0 for the same country. */
export function countryDistanceKm(a: string, b: string): number {
  if (a === b) return 0;
  const ca = COUNTRIES[a];
  const cb = COUNTRIES[b];
  if (!ca || !cb) return UNKNOWN_DISTANCE_KM;
  const rad = Math.PI / 180;
  const dLat = (cb.lat - ca.lat) * rad;
  const dLon = (cb.lon - ca.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(ca.lat * rad) * Math.cos(cb.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
