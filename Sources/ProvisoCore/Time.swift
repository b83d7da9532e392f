#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Time as integer microseconds since the Unix epoch (UTC). Decisions compare plain integers;
/// parsing and printing are hand-written so no `DateFormatter` or `Date` sits on a hot path.
public typealias Micros = Int64

/// Calendar and RFC 3339 helpers shared by every interface.
public enum Time {
    public static let microsPerSecond: Int64 = 1_000_000
    public static let microsPerDay: Int64 = 86_400_000_000

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    public static func dayNumber(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day number.
    public static func civil(dayNumber z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Parses `YYYY-MM-DD` strictly (real calendar dates only) into a day number.
    public static func parseDate(_ s: String) -> Int? {
        var s = s
        return s.withUTF8 { parseDate(UnsafeRawBufferPointer($0)) }
    }

    /// The same, from bytes (a store's raw row).
    public static func parseDate(_ b: UnsafeRawBufferPointer) -> Int? {
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = digits(b, 0, 4), let m = digits(b, 5, 2), let d = digits(b, 8, 2),
              (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m)
        else { return nil }
        return dayNumber(year: y, month: m, day: d)
    }

    /// Parses an RFC 3339 timestamp (`2025-11-03T00:00:00Z`, offsets and fractions allowed).
    public static func parseRFC3339(_ s: String) -> Micros? {
        var copy = s
        return copy.withUTF8 { parseRFC3339(UnsafeRawBufferPointer($0)) }
    }

    /// Parses an RFC 3339 timestamp from raw bytes without allocating.
    public static func parseRFC3339(_ b: UnsafeRawBufferPointer) -> Micros? {
        let n = b.count
        guard n >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let y = digits(b, 0, 4), let mo = digits(b, 5, 2), let d = digits(b, 8, 2),
              let h = digits(b, 11, 2), let mi = digits(b, 14, 2), let sec = digits(b, 17, 2),
              (1...12).contains(mo), d >= 1, d <= daysInMonth(year: y, month: mo),
              h <= 23, mi <= 59, sec <= 60
        else { return nil }
        var i = 19
        var frac: Int64 = 0
        if i < n, b[i] == UInt8(ascii: ".") {
            i += 1
            var digitsSeen = 0
            while i < n, b[i] >= 48, b[i] <= 57 {
                if digitsSeen < 6 { frac = frac * 10 + Int64(b[i] - 48) }
                digitsSeen += 1
                i += 1
            }
            guard digitsSeen > 0 else { return nil }
            for _ in digitsSeen..<max(digitsSeen, 6) { frac *= 10 }
        }
        guard i < n else { return nil }
        var offsetSeconds = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == n, b[i + 3] == UInt8(ascii: ":"),
                  let oh = digits(b, i + 1, 2), let om = digits(b, i + 4, 2), oh <= 23, om <= 59
            else { return nil }
            offsetSeconds = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
            i += 6
        default:
            return nil
        }
        guard i == n else { return nil }
        // A leap second is folded into the next second: ledgers need order, not astronomy.
        let seconds = Int64(dayNumber(year: y, month: mo, day: d)) * 86_400
            + Int64(h * 3600 + mi * 60 + sec) - Int64(offsetSeconds)
        return seconds * microsPerSecond + frac
    }

    /// Formats as RFC 3339 in UTC, with a fraction only when there is one.
    public static func formatRFC3339(_ t: Micros) -> String {
        let day = floorDiv(t, microsPerDay)
        let rem = t - day * microsPerDay
        let (y, m, d) = civil(dayNumber: Int(day))
        let secs = Int(rem / microsPerSecond)
        let frac = Int(rem % microsPerSecond)
        var s = pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2) + "T"
        s += pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2)
        if frac != 0 {
            s += frac % 1000 == 0 ? "." + pad(frac / 1000, 3) : "." + pad(frac, 6)
        }
        return s + "Z"
    }

    /// `YYYY-MM-DD` of a day number.
    public static func formatDate(dayNumber: Int) -> String {
        let (y, m, d) = civil(dayNumber: dayNumber)
        return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2)
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Human date as members read it: `3 Nov 2025`.
    public static func formatHuman(_ t: Micros) -> String {
        let (y, m, d) = civil(dayNumber: Int(floorDiv(t, microsPerDay)))
        return "\(d) \(monthNames[m - 1]) \(y)"
    }

    private static let weekdayNames = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]

    /// HTTP's `Date` header form (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
    public static func formatHTTP(_ t: Micros) -> String {
        let day = floorDiv(t, microsPerDay)
        let secs = Int((t - day * microsPerDay) / microsPerSecond)
        let (y, m, d) = civil(dayNumber: Int(day))
        let weekday = weekdayNames[Int(((day % 7) + 7) % 7)]
        return weekday + ", " + pad(d, 2) + " " + monthNames[m - 1] + " " + pad(y, 4) + " "
            + pad(secs / 3600, 2) + ":" + pad(secs / 60 % 60, 2) + ":" + pad(secs % 60, 2) + " GMT"
    }

    /// Midnight UTC of a day number, in microseconds.
    public static func micros(dayNumber: Int) -> Micros { Int64(dayNumber) * microsPerDay }

    /// The day a person born on `birthDay` turns `years` old (29 Feb birthdays count from 1 Mar).
    public static func anniversary(of birthDay: Int, years: Int) -> Int {
        let (y, m, d) = civil(dayNumber: birthDay)
        let ty = y + years
        if m == 2, d == 29, !isLeap(ty) { return dayNumber(year: ty, month: 3, day: 1) }
        return dayNumber(year: ty, month: m, day: d)
    }

    /// The current time from the system clock, in microseconds.
    public static func now() -> Micros {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * microsPerSecond + Int64(ts.tv_nsec) / 1000
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private static func digits(_ b: [UInt8], _ at: Int, _ count: Int) -> Int? {
        b.withUnsafeBytes { digits($0, at, count) }
    }

    /// Inlined: the gate parses a `created_at` per record, six of these each.
    @inline(__always)
    private static func digits(_ b: UnsafeRawBufferPointer, _ at: Int, _ count: Int) -> Int? {
        guard at + count <= b.count else { return nil }
        var v = 0
        for i in at..<(at + count) {
            let c = b[i]
            guard c >= 48, c <= 57 else { return nil }
            v = v * 10 + Int(c - 48)
        }
        return v
    }
}
