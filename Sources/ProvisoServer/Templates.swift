/// The member pages' templates and stylesheet, embedded so the binary is self-contained.
/// Mustache escapes every `{{value}}`. The unescaped `{{{…}}}` form is used only for HTML
/// that ProvisoReports built with every value escaped (rendered Markdown, the report's tables and charts).
enum Templates {
    static let head = """
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>{{title}} · {{platform}}</title>
          {{#tdmReserved}}<meta name="tdm-reservation" content="1">{{/tdmReserved}}
          <link rel="stylesheet" href="/static/proviso.css">
        </head>
        <body>
        <header class="top">
          <a class="brand" href="/settings">{{platform}}</a>
          {{#member}}
          <nav aria-label="Account">
            <a href="/settings"{{#onSettings}} aria-current="page"{{/onSettings}}>Settings &amp; Privacy</a>
            <a href="/history"{{#onHistory}} aria-current="page"{{/onHistory}}>History</a>
            <a href="/receipts"{{#onReceipts}} aria-current="page"{{/onReceipts}}>Receipts</a>
            <a href="/data-use"{{#onDataUse}} aria-current="page"{{/onDataUse}}>How your data was used</a>
            <a href="/notices"{{#onNotices}} aria-current="page"{{/onNotices}}>Notices{{#unread}} <span class="badge" aria-label="{{unread}} unread">{{unread}}</span>{{/unread}}</a>
            <a href="/checkup"{{#onCheckup}} aria-current="page"{{/onCheckup}}>Profile checkup</a>
            <a href="/organisation"{{#onOrganisation}} aria-current="page"{{/onOrganisation}}>Employer</a>
            {{#adminOrgs}}<a href="/orgs/{{id}}"{{#current}} aria-current="page"{{/current}}>Admin: {{name}}</a>{{/adminOrgs}}
            {{#compliance}}<a href="/compliance"{{#onCompliance}} aria-current="page"{{/onCompliance}}>Compliance</a>{{/compliance}}
            <form method="post" action="/logout" class="inline">
              <input type="hidden" name="csrf" value="{{csrf}}">
              <button type="submit" class="link">Sign out {{name}}</button>
            </form>
          </nav>
          {{/member}}
        </header>
        <main>
        """

    static let foot = """
        </main>
        <footer><p>Your choices are recorded in a tamper-evident ledger. Every change gets a signed receipt.</p></footer>
        </body>
        </html>
        """

    static let login = """
        {{> head}}
        <section class="card narrow">
          <h1>Sign in</h1>
          {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
          <form method="post" action="/login">
            <input type="hidden" name="csrf" value="{{loginCSRF}}">
            <label for="member">Member id or handle</label>
            <input id="member" name="member" autocomplete="username" required value="{{memberInput}}">
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit" class="primary">Sign in</button>
          </form>
        </section>
        {{> foot}}
        """

    static let settings = """
        {{> head}}
        <h1>Settings &amp; Privacy</h1>
        {{#changed}}
        <p class="notice" role="status">Saved: <strong>{{label}}</strong> is now {{value}}. <a href="/receipts/{{seq}}.jws" download>Download your receipt</a> (ledger entry {{seq}}).</p>
        {{/changed}}
        <p class="muted">Region: {{region}} · policy {{policyVersion}}</p>
        {{#gpc}}
        <p class="notice" role="status"><strong>Opt-out preference signal honored.</strong> Your browser's Global Privacy
           Control turned off {{settings}}. You can turn them back on below; the signal will not override your choice.</p>
        {{/gpc}}
        {{#sections}}
        <section class="card" aria-labelledby="section-{{id}}">
          <h2 id="section-{{id}}">{{title}}</h2>
          {{#settings}}
          <article class="setting" id="{{setting}}">
            <h3>{{label}}</h3>
            {{#switchLabel}}<p class="switch-label">{{switchLabel}}</p>{{/switchLabel}}
            <form method="post" action="/settings/{{setting}}" class="switch">
              <input type="hidden" name="csrf" value="{{csrf}}">
              <input type="hidden" name="value" value="{{next}}">
              <span class="state {{state}}" aria-hidden="true">{{stateLabel}}</span>
              <button type="submit" aria-label="{{label}}: currently {{stateLabel}}. Turn {{next}}.">Turn {{next}}</button>
            </form>
            <p class="why">{{explanation}}</p>
            {{#description}}<p class="covers">{{description}}</p>{{/description}}
            {{#notes}}<p class="covers">{{.}}</p>{{/notes}}
          </article>
          {{/settings}}
        </section>
        {{/sections}}
        {{> foot}}
        """

    static let history = """
        {{> head}}
        <h1>History of your choices</h1>
        <section class="card">
          {{^events}}<p>No changes recorded yet.</p>{{/events}}
          {{#hasEvents}}
          <table>
            <caption class="muted">Every entry of the ledger about you, oldest first. Hashes chain each entry to the one before.</caption>
            <thead><tr><th scope="col">#</th><th scope="col">Recorded</th><th scope="col">What</th><th scope="col">Effective</th><th scope="col">How</th><th scope="col">Hash</th></tr></thead>
            <tbody>
            {{#events}}
            <tr><td>{{seq}}</td><td>{{recorded}}</td><td>{{what}}</td><td>{{effective}}</td><td>{{how}}</td><td><code>{{hash}}</code></td></tr>
            {{/events}}
            </tbody>
          </table>
          {{/hasEvents}}
        </section>
        {{> foot}}
        """

    static let receipts = """
        {{> head}}
        <h1>Receipts</h1>
        <section class="card">
          <p>Each change of a setting comes with a receipt signed by {{platform}} (Ed25519). Anyone can check it offline
             with <code>proviso receipt verify FILE --jwks jwks.json</code> against the keys published at
             <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.</p>
          {{^receipts}}<p>No receipts yet.</p>{{/receipts}}
          <ul class="receipts">
          {{#receipts}}
            <li><a href="/receipts/{{seq}}.jws" download>Receipt {{seq}}</a> · {{label}} {{value}} · {{when}}</li>
          {{/receipts}}
          </ul>
        </section>
        {{> foot}}
        """

    static let dataUse = """
        {{> head}}
        <h1>How your data was used</h1>
        <section class="card">
          <p>Every dataset that leaves for AI training or advertising passes a consent gate, which records whose data it
             let through. These are the datasets that included some of yours. Private messages are never included.</p>
          {{^uses}}<p>None of your data has been included in a dataset so far.</p>{{/uses}}
          <ul class="uses">
          {{#uses}}
            <li>
              <strong>{{purpose}}</strong> · as of {{when}}{{#name}} · {{name}}{{/name}}<br>
              <span class="muted">{{what}} · snapshot <code>{{id}}</code></span>
              {{#retracted}}<p class="note">{{why}}</p>{{/retracted}}
            </li>
          {{/uses}}
          </ul>
        </section>
        {{> foot}}
        """

    static let notices = """
        {{> head}}
        <h1>Notices</h1>
        {{#justConfirmed}}<p class="notice" role="status">Thank you: your confirmation is recorded. Your setting is unchanged.</p>{{/justConfirmed}}
        <section class="card">
          <p>When a new privacy policy would use more of your data, you are told here before it takes effect, with time
             to change your settings. Your earlier choices always stand.</p>
          {{#justAcknowledged}}<p class="notice" role="status">Thank you: your acknowledgement is recorded. Your settings are unchanged.</p>{{/justAcknowledged}}
          {{#hasReminders}}
          <h2>From your employer</h2>
          <p class="muted">Your employer cannot see or change your settings; it only sees how many people acknowledged a reminder.</p>
          <ul class="uses">
          {{#reminders}}
            <li class="reminder{{#unread}} unread{{/unread}}" id="reminder-{{id}}">
              <strong>{{orgName}} asks you to review your AI-training and advertising settings</strong>{{#unread}} <span class="badge">new</span>{{/unread}}<br>
              <span class="muted">{{when}}</span>
              <p class="message">{{message}}</p>
              <a href="/settings#genai-improvement">Review your settings</a>{{#policyLink}} · <a href="{{policyLink}}">Read {{orgName}}'s social media policy</a>{{/policyLink}}
              {{^acknowledged}}
              <form method="post" action="/notices/reminders/{{id}}/acknowledge" class="inline">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <button type="submit">Acknowledge</button>
              </form>
              {{/acknowledged}}
              {{#acknowledged}}<p class="muted">You acknowledged this on {{acknowledged}}.</p>{{/acknowledged}}
            </li>
          {{/reminders}}
          </ul>
          <h2>Policy changes</h2>
          {{/hasReminders}}
          {{^notices}}<p>No notices.</p>{{/notices}}
          <ul class="uses">
          {{#notices}}
            <li class="{{#unread}}unread{{/unread}}">
              <strong>{{label}}</strong>{{#unread}} <span class="badge">new</span>{{/unread}} · policy {{version}}<br>
              <span class="countdown">{{countdown}}</span>
              <ul>{{#changes}}<li>{{.}}</li>{{/changes}}</ul>
              <a href="/settings#{{setting}}">Review this setting</a>
              {{#asksConfirmation}}
              <form method="post" action="/notices/{{id}}/confirm" class="inline">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <p class="note">You turned this on earlier. Please confirm it is still what you want — it stays on until you change it.
                <button type="submit">Confirm, keep it on</button></p>
              </form>
              {{/asksConfirmation}}
              {{#confirmed}}<p class="muted">You confirmed this.</p>{{/confirmed}}
            </li>
          {{/notices}}
          </ul>
        </section>
        {{> foot}}
        """

    static let organisation = """
        {{> head}}
        <h1>Employer</h1>
        {{#saved}}<p class="notice" role="status">{{saved}}</p>{{/saved}}
        <section class="card">
          <p>Confirming your current employer lets it send you reminders about your privacy settings and counts you in its
             anonymous statistics (shown only for groups of at least {{k}} people). Your employer can never see or change your
             settings, your history or your profile checkup.</p>
          {{#current}}
          <p>Current employer: <strong>{{name}}</strong>. <a href="/orgs/{{id}}/policy">Read its social media policy</a>.</p>
          <form method="post" action="/organisation" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <input type="hidden" name="org" value="">
            <button type="submit">I no longer work here</button>
          </form>
          {{/current}}
          <form method="get" action="/organisation" class="search">
            <label for="q">Find your employer</label>
            <input id="q" name="q" value="{{q}}" placeholder="Name or id">
            <button type="submit">Search</button>
          </form>
          {{#noMatch}}<p class="muted">No organisation matches “{{q}}”.</p>{{/noMatch}}
          {{^noMatch}}
          <form method="post" action="/organisation">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="org">Current employer</label>
            <select id="org" name="org" required>
              {{#orgs}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/orgs}}
            </select>
            <label class="check"><input type="checkbox" name="confirm" value="yes" required> I confirm I currently work here</label>
            <button type="submit" class="primary">Confirm employer</button>
          </form>
          {{/noMatch}}
        </section>
        {{> foot}}
        """

    static let orgPolicy = """
        {{> head}}
        <h1>{{orgName}}: social media policy</h1>
        <section class="card">
          {{#policy}}
          <p class="muted">Version {{version}}, published {{when}}.</p>
          <div class="markdown">{{{html}}}</div>
          {{/policy}}
          {{^policy}}<p>{{orgName}} has not published a social media policy yet.</p>{{/policy}}
        </section>
        {{> foot}}
        """

    static let orgAdmin = """
        {{> head}}
        <h1>{{orgName}}</h1>
        {{#flash}}<p class="notice" role="status">{{flash}}</p>{{/flash}}
        <p class="muted">You see counts and aggregates only. You cannot see or change any member's settings, and nothing is shown
           about a group smaller than {{k}} people.</p>
        <section class="card" aria-labelledby="reach">
          <h2 id="reach">Reminder campaigns</h2>
          <p><span id="affiliated">{{affiliated}}</span> members have confirmed {{orgName}} as their employer.</p>
          <form method="post" action="/orgs/{{orgID}}/campaigns">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="message">Message to every affiliated member</label>
            <textarea id="message" name="message" rows="3" maxlength="2000" required>Please take two minutes to review your AI-training and advertising settings, and our social media policy.</textarea>
            <button type="submit" class="primary">Send reminder</button>
          </form>
          {{^campaigns}}<p>No reminders sent yet.</p>{{/campaigns}}
          {{#hasCampaigns}}
          <table id="campaigns">
            <thead><tr><th scope="col">Sent</th><th scope="col">Message</th><th scope="col">Reached</th><th scope="col">Read</th><th scope="col">Acknowledged</th></tr></thead>
            <tbody>
            {{#campaigns}}<tr><td>{{when}}</td><td>{{message}}</td><td class="reached">{{reached}}</td><td class="read">{{read}}</td><td class="acknowledged">{{acknowledged}}</td></tr>{{/campaigns}}
            </tbody>
          </table>
          {{/hasCampaigns}}
        </section>
        <section class="card" aria-labelledby="settings-share">
          <h2 id="settings-share">Settings switched off among affiliated members</h2>
          {{#tooFew}}<p id="too-few" class="muted">Too few to show: fewer than {{k}} members are affiliated.</p>{{/tooFew}}
          {{#shares}}
          <table id="shares"><thead><tr><th scope="col">Setting</th><th scope="col">Switched off</th></tr></thead><tbody>
          {{#settings}}<tr data-setting="{{setting}}"><td>{{label}}</td><td>{{percent}}</td></tr>{{/settings}}
          </tbody></table>
          {{/shares}}
        </section>
        <section class="card" aria-labelledby="exposure">
          <h2 id="exposure">Profile exposure to AI-assisted phishing</h2>
          {{#tooFew}}<p class="muted">Too few to show.</p>{{/tooFew}}
          {{#findings}}
          <table><thead><tr><th scope="col">What public profiles give away</th><th scope="col">Share of members</th></tr></thead><tbody>
          {{#rows}}<tr><td>{{rule}}</td><td>{{percent}}</td></tr>{{/rows}}
          </tbody></table>
          <p class="muted">Members can review and fix these themselves on their Profile checkup page.</p>
          {{/findings}}
        </section>
        <section class="card" aria-labelledby="policy">
          <h2 id="policy">Social media policy</h2>
          {{#latest}}<p class="muted">Version {{version}}, published {{when}}. <a href="/orgs/{{orgID}}/policy">View as members see it</a></p>{{/latest}}
          <form method="post" action="/orgs/{{orgID}}/policies">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label for="markdown">Policy (Markdown)</label>
            <textarea id="markdown" name="markdown" rows="10" required>{{markdown}}</textarea>
            <button type="submit">Publish new version</button>
          </form>
        </section>
        {{> foot}}
        """

    static let checkup = """
        {{> head}}
        <h1>Profile checkup</h1>
        {{#flash}}<p class="notice" role="status">{{flash}}</p>{{/flash}}
        <section class="card">
          <p>What your profile tells someone writing you a convincing phishing message — now easy to automate with AI. Each
             finding is scored 1–10 by how useful it is to an attacker. The check runs here, on rules anyone can read; nothing is
             sent anywhere.</p>
          {{^findings}}<p id="no-findings">Nothing on your profile stands out. Well done.</p>{{/findings}}
          <ul class="uses" id="findings">
          {{#findings}}
            <li data-rule="{{rule}}">
              <strong>{{title}}</strong> <span class="score" aria-label="score {{score}} of 10">{{score}}/10</span><br>
              <span class="muted">Visible to {{audience}}.</span>
              <p>{{why}}</p>
              <form method="post" action="{{action}}" class="inline">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <input type="hidden" name="visibility" value="{{fixTo}}">
                <button type="submit">{{fixLabel}}</button>
              </form>
            </li>
          {{/findings}}
          </ul>
        </section>
        {{> foot}}
        """

    static let compliance = """
        {{> head}}
        <h1>Compliance</h1>
        <p class="muted">Figures computed from the ledger as of this page. Download: <a href="/compliance/report.csv">CSV</a> ·
           <a href="/compliance/report.json">JSON</a>. The same figures: <code>proviso report --format csv|json|html</code>.</p>
        <div class="report">{{{reportHTML}}}</div>
        {{> foot}}
        """

    static let profile = """
        {{> head}}
        <section class="card">
          <h1>{{name}}</h1>
          {{#headline}}<p class="muted">{{headline}}</p>{{/headline}}
          <p class="muted">@{{handle}}</p>
        </section>
        <section class="card" aria-labelledby="posts">
          <h2 id="posts">Posts</h2>
          {{^posts}}<p>No public posts.</p>{{/posts}}
          <ul class="uses">
          {{#posts}}<li><p>{{text}}</p><span class="muted">{{when}}</span></li>{{/posts}}
          </ul>
        </section>
        {{> foot}}
        """

    static let error = """
        {{> head}}
        <section class="card narrow">
          <h1>{{title}}</h1>
          <p>{{message}}</p>
          <p><a href="/settings">Back to your settings</a></p>
        </section>
        {{> foot}}
        """

    static let css = """
        table.report td, table.report th { font-size: .85rem; }
        svg.chart { max-width: 680px; width: 100%; height: auto; }
        .score { font-weight: 700; color: #b42318; }
        .markdown h3, .markdown h4 { margin-bottom: .25rem; }
        label.check { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
        textarea { width: 100%; font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; }
        :root { --ink: #1d2226; --muted: #5e6a73; --line: #dfe3e8; --bg: #f4f2ee; --card: #fff; --brand: #0a66c2; --on: #057642; --off: #8c8c8c; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
        .top { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; font-size: 1.25rem; color: var(--brand); text-decoration: none; }
        nav { display: flex; align-items: center; gap: 1.25rem; flex-wrap: wrap; }
        nav a { color: var(--muted); text-decoration: none; }
        nav a[aria-current="page"] { color: var(--ink); font-weight: 600; border-bottom: 2px solid var(--ink); }
        main { max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }
        h1 { font-size: 1.6rem; margin: 0 0 1rem; }
        h2 { font-size: 1.2rem; margin: 0 0 .5rem; }
        h3 { font-size: 1rem; margin: 0; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem 1.5rem; margin-bottom: 1.25rem; }
        .narrow { max-width: 26rem; margin: 3rem auto; }
        .setting { padding: 1rem 0; border-top: 1px solid var(--line); }
        .setting:first-of-type { border-top: 0; }
        .switch-label { margin: .25rem 0; }
        .switch { display: flex; align-items: center; gap: 1rem; margin: .5rem 0; }
        .state { font-weight: 600; padding: .15rem .7rem; border-radius: 999px; color: #fff; }
        .state.on { background: var(--on); } .state.off { background: var(--off); }
        .why { margin: .25rem 0; font-weight: 500; }
        .covers, .muted { color: var(--muted); font-size: .92rem; margin: .25rem 0; }
        label { display: block; margin-top: .75rem; font-weight: 600; }
        input[type=text], input:not([type]), input[type=password] { width: 100%; padding: .6rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
        button { font: inherit; padding: .45rem 1rem; border-radius: 999px; border: 1px solid var(--brand); background: #fff; color: var(--brand); cursor: pointer; }
        button.primary { margin-top: 1rem; background: var(--brand); color: #fff; width: 100%; }
        button.link { border: 0; background: none; color: var(--muted); padding: 0; }
        button:focus-visible, a:focus-visible, input:focus-visible { outline: 3px solid #f5c400; outline-offset: 2px; }
        form.inline { display: inline; }
        .notice { background: #e6f4ea; border: 1px solid #b7dfc3; padding: .75rem 1rem; border-radius: 8px; }
        .badge { display: inline-block; min-width: 1.2em; padding: 0 .4em; border-radius: 999px; background: var(--brand); color: #fff; font-size: .8rem; text-align: center; }
        .countdown { font-weight: 600; }
        ul.uses { list-style: none; padding: 0; } ul.uses li { padding: .75rem 0; border-top: 1px solid var(--line); }
        .note { background: #fff8e1; border: 1px solid #f1d98a; padding: .5rem .75rem; border-radius: 8px; margin: .5rem 0 0; }
        .error { background: #fdecea; border: 1px solid #f5c2bd; padding: .75rem 1rem; border-radius: 8px; }
        table { width: 100%; border-collapse: collapse; font-size: .92rem; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        code { font-size: .85rem; word-break: break-all; }
        footer { text-align: center; color: var(--muted); font-size: .85rem; padding: 2rem 1rem; }
        """
}
