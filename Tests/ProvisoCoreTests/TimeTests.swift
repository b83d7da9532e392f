import Testing
import ProvisoCore

@Suite struct TimeTests {
    @Test func rfc3339RoundTripsWithAndWithoutFractions() {
        for s in ["2025-11-03T00:00:00Z", "1999-12-31T23:59:59.5Z", "2024-02-29T12:00:00.000123Z", "1970-01-01T00:00:00Z"] {
            let t = Time.parseRFC3339(s)
            #expect(t != nil, "\(s) must parse")
            let again = Time.parseRFC3339(Time.formatRFC3339(t!))
            #expect(again == t, "\(s) must round-trip")
        }
        #expect(Time.formatRFC3339(at("2025-11-03T00:00:00Z")) == "2025-11-03T00:00:00Z")
        #expect(Time.formatRFC3339(at("2025-11-03T00:00:00.250Z")) == "2025-11-03T00:00:00.250Z")
    }

    @Test func offsetsAreNormalisedToUTC() {
        #expect(Time.parseRFC3339("2025-11-03T01:30:00+01:30") == Time.parseRFC3339("2025-11-03T00:00:00Z"))
        #expect(Time.parseRFC3339("2025-11-02T19:00:00-05:00") == Time.parseRFC3339("2025-11-03T00:00:00Z"))
    }

    @Test(arguments: ["2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-11-03", "2025-11-03T24:00:00Z",
                      "2025-11-03T00:00:00", "2025-11-03T00:00:00.Z", "2025-11-03T00:00:00+0100", "x2025-11-03T00:00:00Z"])
    func invalidTimestampsAreRefused(_ s: String) {
        #expect(Time.parseRFC3339(s) == nil)
    }

    @Test func datesAreRealCalendarDates() {
        #expect(Time.parseDate("2024-02-29") != nil)
        #expect(Time.parseDate("2025-02-29") == nil)
        #expect(Time.parseDate("2025-04-31") == nil)
        #expect(Time.parseDate("2025-1-01") == nil)
        #expect(Time.formatDate(dayNumber: Time.parseDate("2003-05-05")!) == "2003-05-05")
    }

    @Test func leapDayBirthdaysComeOfAgeOnTheFirstOfMarch() {
        #expect(Time.anniversary(of: day("2008-02-29"), years: 18) == day("2026-03-01"))
        #expect(Time.anniversary(of: day("2008-02-29"), years: 16) == day("2024-02-29"))
        #expect(Time.anniversary(of: day("2000-07-15"), years: 18) == day("2018-07-15"))
    }

    @Test func humanDatesReadAsMembersExpect() {
        #expect(Time.formatHuman(at("2025-11-03T00:00:00Z")) == "3 Nov 2025")
    }

    @Test func httpDatesAreIMFFixdateWithTheRightWeekday() {
        #expect(Time.formatHTTP(at("1994-11-06T08:49:37Z")) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(Time.formatHTTP(at("2025-11-03T00:00:00Z")) == "Mon, 03 Nov 2025 00:00:00 GMT")
        #expect(Time.formatHTTP(at("1969-12-31T23:59:59.5Z")) == "Wed, 31 Dec 1969 23:59:59 GMT")
    }
}

@Suite struct RegionTests {
    @Test func aCodesBytesGiveTheSameGroupAsItsString() {
        for code in Countries.all {
            var c = code
            let fromBytes = c.withUTF8 { RegionGroup(countryCode: UnsafeRawBufferPointer($0)) }
            #expect(fromBytes == RegionGroup(country: code), "\(code)")
        }
        for bad in ["ZZ", "de", "D", "DEU", ""] {
            var c = bad
            #expect(c.withUTF8 { RegionGroup(countryCode: UnsafeRawBufferPointer($0)) } == nil, "\(bad)")
        }
    }

    @Test func theCountryTableIsCompleteISO3166() {
        #expect(Countries.all.count == 249)
        #expect(Set(Countries.all).count == 249)
    }

    @Test func theEEAIsTheEU27PlusIcelandLiechtensteinNorway() {
        let eu27 = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
                    "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
        #expect(eu27.count == 27)
        for c in eu27 + ["IS", "LI", "NO"] { #expect(RegionGroup(country: c) == .eea, "\(c)") }
    }

    @Test func namedGroupsAndTheRestOfTheWorld() {
        #expect(RegionGroup(country: "GB") == .gb)
        #expect(RegionGroup(country: "CH") == .ch)
        #expect(RegionGroup(country: "CA") == .ca)
        #expect(RegionGroup(country: "HK") == .hk)
        #expect(RegionGroup(country: "US") == .us)
        #expect(RegionGroup(country: "IN") == .row)
        #expect(RegionGroup(country: "JP") == .row)
    }

    @Test func unknownCodesAreRefusedNotDefaultedToROW() {
        #expect(RegionGroup(country: "UK") == nil)
        #expect(RegionGroup(country: "de") == nil)
        #expect(RegionGroup(country: "XX") == nil)
        #expect(Countries.problem(with: "UK").contains("GB"))
    }
}

@Suite struct JSONTests {
    @Test func parsesNestedValuesKeepingKeyOrder() throws {
        let v = try JSON.parse(#"{"b":1,"a":[true,null,"x\u00e9\ud83d\ude00"],"c":{"d":-1.5e3}}"#)
        guard case let .object(fields) = v else { Issue.record("not an object"); return }
        #expect(fields.map(\.key) == ["b", "a", "c"])
        #expect(v["a"] == .array([.bool(true), .null, .string("xé😀")]))
        #expect(v["c"]?["d"] == .number("-1.5e3"))
    }

    @Test func duplicateKeysAreAnError() {
        #expect(throws: JSONError.self) { try JSON.parse(#"{"a":1,"a":2}"#) }
    }

    @Test(arguments: [#"{"a":}"#, "{", #"{"a":1}x"#, #"["\x"]"#, "01", #""\ud800""#, "[1,]"])
    func malformedInputIsRefused(_ text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func serialisationEscapesAndRoundTrips() throws {
        let v = JSON.object([("k", .string("a\"b\\c\n\u{01}é"))])
        #expect(try JSON.parse(v.serialized) == v)
        #expect(v.serialized == #"{"k":"a\"b\\c\n\u0001é"}"#)
    }
}
