using System.Xml.Linq;

namespace ImLogger.Config;

public static partial class ConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary><c>&lt;scale-out components="JID JID ..."/&gt;</c>; null when absent (one instance serves the server).</summary>
        private ScaleOutSettings? ReadScaleOut(XElement? e, ComponentSettings component, IReadOnlyList<OrganizationConfig> organizations)
        {
            if (e == null) return null;
            Only(e, ["components"], []);
            var list = Required(e, "components").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                .Select(c => c.ToLowerInvariant()).ToList();
            if (list.Count is < 2 or > 64)
                throw Error(e.Attribute("components")!, $"components must list 2 to 64 component JIDs (one per ImLogger instance, separated by spaces), not {list.Count}");
            foreach (var c in list)
                if (c.Contains('@', StringComparison.Ordinal) || c.Contains('/', StringComparison.Ordinal) || !c.Contains('.', StringComparison.Ordinal))
                    throw Error(e.Attribute("components")!, $"'{c}' is not a component JID (a domain such as archive2.example.test)");
            // A user domain taken for a component would make the modules treat every stanza from its users as ImLogger's
            // own (never held: logged users' incoming messages would pass unarchived).
            foreach (var c in list)
                if (organizations.FirstOrDefault(o => o.Domains.Contains(c, StringComparer.OrdinalIgnoreCase)) is { } owner)
                    throw Error(e.Attribute("components")!, $"'{c}' is a user domain of organization {owner.Name}, not a component: give each instance a component JID of its own (such as archive2.{c})");
            if (list.Distinct(StringComparer.Ordinal).Count() != list.Count)
                throw Error(e.Attribute("components")!, "a component is listed twice: each instance has its own component JID, listed once");
            if (!list.Contains(component.Jid.ToLowerInvariant(), StringComparer.Ordinal))
                throw Error(e.Attribute("components")!, $"this instance's own component ({component.Jid}) is not in the list: every instance's config lists all of them, its own included, in the same order");
            // Seats given as users are met (logged by default) would be given by each instance in its own order, so two
            // instances could disagree on who holds the last seats: one seat authority is designed, not built.
            if (organizations.FirstOrDefault(o => o.LoggedByDefault) is { } byDefault)
                throw Error(e, $"organization {byDefault.Name} is logged by default, which cannot be scaled out yet: each instance would give the seats in the order it meets users, and two instances could disagree (docs/scale-out.md, \"Seats\"); list its users instead, or run one instance");
            return new ScaleOutSettings { Components = list };
        }
    }
}
