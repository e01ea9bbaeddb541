using ImLogger.Conversations;
using ImLogger.Domain;
using LiteDB;

namespace ImLogger.Spool;

public sealed partial class LiteDbSpool
{
    /// <summary>One document per logged user and UTC day: <c>{ _id: "user|yyyy-MM-dd", user, day, captured, refused, last,
    /// lastCaptured, lastRefused, lastRule, refusedBy }</c> (the "last" fields of stanzas the user sent).
    /// Small (users x days), and never deleted with the transcripts, so coverage can be reported after delivery.</summary>
    private const string ActivityCollection = "activity";

    private ILiteCollection<BsonDocument> ActivityDocuments => _db.GetCollection(ActivityCollection);

    /// <summary>Adds a batch's events to its users' day counters; runs inside the append's transaction.</summary>
    private void CountActivity(IReadOnlyList<SpoolAppend> events)
    {
        var counters = new Dictionary<string, Counter>(StringComparer.Ordinal);
        var rules = new Dictionary<(string Key, string Rule), long>();
        foreach (var (_, e) in events)
        {
            if (e.Kind == EventKind.Notice) continue; // the component's own notices are not the user's activity
            var utc = e.ReceivedUtc.UtcDateTime;
            foreach (var user in e.LoggedUsers.Distinct(StringComparer.Ordinal))
            {
                var key = $"{user}|{utc:yyyy-MM-dd}";
                var c = counters.TryGetValue(key, out var found) ? found : new Counter(user, utc.Date);
                c.Last = Math.Max(c.Last, utc.Ticks);
                // "Last captured / refused" follow what the user sent: whether their own stanzas get through.
                var own = string.Equals(e.SenderBareJid, user, StringComparison.Ordinal);
                if (e.Kind == EventKind.Refused)
                {
                    // Counted under the rule's stable name (the document's field names, what report shows).
                    var rule = RuleOf(e).Name();
                    rules[(key, rule)] = rules.GetValueOrDefault((key, rule)) + 1;
                    c.Refused++;
                    if (own && utc.Ticks >= c.LastRefused) (c.LastRefused, c.LastRule) = (utc.Ticks, rule);
                }
                else
                {
                    c.Captured++;
                    if (own) c.LastCaptured = Math.Max(c.LastCaptured, utc.Ticks);
                }
                counters[key] = c;
            }
        }
        if (counters.Count == 0) return;
        foreach (var (key, c) in counters)
        {
            var delta = new BsonDocument
            {
                ["_id"] = key, ["user"] = c.User, ["day"] = c.Day.Ticks, ["captured"] = c.Captured, ["refused"] = c.Refused, ["last"] = c.Last,
            };
            if (c.LastCaptured > 0) delta["lastCaptured"] = c.LastCaptured;
            if (c.LastRule != null) (delta["lastRefused"], delta["lastRule"]) = (c.LastRefused, c.LastRule);
            var byRule = new BsonDocument();
            foreach (var ((k, rule), n) in rules)
                if (k == key) byRule[rule] = n;
            delta["refusedBy"] = byRule;
            // Held until the once-a-second copy (LiteDbSpool.ActivityDeferred.cs), not written per request.
            _activityStaged[key] = AddActivity(_activityStaged.GetValueOrDefault(key), delta);
        }
    }

    /// <summary>A day's counters with <paramref name="delta"/> (counters of the same user and day) added: sums, the later
    /// "last" instants, the refusal rules summed. <paramref name="doc"/> null: a day not counted yet. Changes <paramref name="doc"/>.</summary>
    private static BsonDocument AddActivity(BsonDocument? doc, BsonDocument delta)
    {
        doc ??= new BsonDocument
        {
            ["_id"] = delta["_id"], ["user"] = delta["user"], ["day"] = delta["day"], ["captured"] = 0L, ["refused"] = 0L, ["last"] = 0L,
        };
        doc["captured"] = doc["captured"].AsInt64 + delta["captured"].AsInt64;
        doc["refused"] = doc["refused"].AsInt64 + delta["refused"].AsInt64;
        doc["last"] = Math.Max(doc["last"].AsInt64, delta["last"].AsInt64);
        if (Ticks(delta, "lastCaptured") > Ticks(doc, "lastCaptured")) doc["lastCaptured"] = delta["lastCaptured"];
        if (delta.TryGetValue("lastRule", out var rule) && rule.IsString && Ticks(delta, "lastRefused") >= Ticks(doc, "lastRefused"))
        {
            doc["lastRefused"] = delta["lastRefused"];
            doc["lastRule"] = rule;
        }
        var byRule = doc.TryGetValue("refusedBy", out var existing) && existing.IsDocument ? existing.AsDocument : [];
        if (delta.TryGetValue("refusedBy", out var added) && added.IsDocument)
            foreach (var (name, n) in added.AsDocument)
                byRule[name] = (byRule.TryGetValue(name, out var old) ? old.AsInt64 : 0L) + n.AsInt64;
        doc["refusedBy"] = byRule;
        return doc;
    }

    /// <summary>One user's counters for one day within a batch.</summary>
    private sealed class Counter(string user, DateTime day)
    {
        public string User { get; } = user;
        public DateTime Day { get; } = day;
        public long Captured { get; set; }
        public long Refused { get; set; }
        public long Last { get; set; }
        public long LastCaptured { get; set; }
        public long LastRefused { get; set; }
        public string? LastRule { get; set; }
    }

    private static long Ticks(BsonDocument doc, string field) => doc.TryGetValue(field, out var v) && v.IsInt64 ? v.AsInt64 : 0L;

    /// <inheritdoc />
    public IReadOnlyList<UserActivity> Activity(DateTimeOffset sinceUtc)
    {
        var fromDay = sinceUtc.UtcDateTime.Date.Ticks;
        return Read<IReadOnlyList<UserActivity>>(() => WithHeldActivity(ActivityDocuments.Find(Query.GTE("day", fromDay)), fromDay)
            .GroupBy(d => d["user"].AsString, StringComparer.Ordinal)
            .Select(g => new UserActivity(g.Key, g.Sum(d => d["captured"].AsInt64), g.Sum(d => d["refused"].AsInt64),
                new DateTimeOffset(g.Max(d => d["last"].AsInt64), TimeSpan.Zero))
            {
                LastCapturedUtc = g.Max(d => Ticks(d, "lastCaptured")) is > 0 and var captured ? new DateTimeOffset(captured, TimeSpan.Zero) : null,
                LastRefusal = g.Where(d => Ticks(d, "lastRefused") > 0).MaxBy(d => Ticks(d, "lastRefused")) is { } r
                    ? (new DateTimeOffset(Ticks(r, "lastRefused"), TimeSpan.Zero), StoredRule(r["lastRule"].AsString)) : null,
                RefusedBy = g.SelectMany(d => d.TryGetValue("refusedBy", out var r) && r.IsDocument ? r.AsDocument : [])
                    .GroupBy(kv => StoredRule(kv.Key))
                    .ToDictionary(x => x.Key, x => x.Sum(kv => kv.Value.AsInt64)),
            })
            .OrderBy(a => a.User, StringComparer.Ordinal)
            .ToList());
    }

    /// <summary>A refusal's rule: its own field; for an event built before the rule had one, read from its "rule: text" reason.</summary>
    private static RefusalRule RuleOf(ConversationEvent e) => e.Rule ?? RefusalRules.FromEarlierReason(e.Reason).Rule;

    /// <summary>A rule as the activity documents hold it (its stable name, written the same by every version); a name this
    /// version does not know counts as <see cref="RefusalRule.Unknown"/>.</summary>
    private static RefusalRule StoredRule(string name) => RefusalRules.TryParse(name, out var rule) ? rule : RefusalRule.Unknown;
}
