package bench

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured. Its JSON form is what "claudemesh bench
// --json" prints.
type Report struct {
	Scenario Scenario `json:"scenario"`
	Broker   string   `json:"broker"`
	Mesh     string   `json:"mesh"`
	Params   Params   `json:"params"`
	// Connect is how the peers connected at the start; Reconnect how the
	// receivers of offline-drain came back.
	Connect   ConnectStats  `json:"connect"`
	Reconnect *ConnectStats `json:"reconnect,omitempty"`

	// SendSeconds is how long the senders sent; ElapsedSeconds is the
	// measured window, from the first send to the last arrival.
	SendSeconds    float64 `json:"sendSeconds"`
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	// Sent counts the sends the broker acked (durably queued). Expected
	// is the copies that must arrive (Sent, or Sent × receivers for a
	// broadcast), Delivered those that did, once each, intact, at the
	// right peer, and Lost the difference.
	Sent      int64 `json:"sent"`
	Expected  int64 `json:"expected"`
	Delivered int64 `json:"delivered"`
	Lost      int64 `json:"lost"`
	// Refused counts sends the broker answered with an error, by reason.
	Refused   int64              `json:"refused"`
	RefusedBy map[string]Refusal `json:"refusedBy,omitempty"`
	// SendErrors counts sends with no answer (timeout, closed socket).
	SendErrors int64 `json:"sendErrors"`
	// Duplicates counts repeated pushes of a message already received
	// (at-least-once delivery allows them). Corrupt counts pushes that did
	// not open or whose content was altered; Unexpected pushes from a peer
	// the receiver expected nothing from; UnackedArrivals messages that
	// arrived although their send got no ack.
	Duplicates      int64 `json:"duplicates"`
	Corrupt         int64 `json:"corrupt"`
	Unexpected      int64 `json:"unexpected"`
	UnackedArrivals int64 `json:"unackedArrivals"`
	// MessagesPerSecond is Delivered over the measured window (over the
	// drain, for offline-drain).
	MessagesPerSecond float64 `json:"messagesPerSecond"`
	// Latency is send→push for dm and broadcast (one sample per copy), and
	// reconnect→push for offline-drain.
	Latency *Latency `json:"latencyMs"`
	// DrainSeconds is, for offline-drain, the longest time from a
	// receiver's hello to its last push.
	DrainSeconds float64 `json:"drainSeconds,omitempty"`
	// HoldSeconds is how long connect held its peers idle; SystemEvents
	// how many broker events (peer_joined …) they got meanwhile.
	HoldSeconds  float64 `json:"holdSeconds,omitempty"`
	SystemEvents int64   `json:"systemEvents,omitempty"`
	// Reminders are the remind scenario's figures; the fields above then
	// describe its dm load, if any.
	Reminders *ReminderStats `json:"reminders,omitempty"`
	// Disconnects counts peers whose connection the broker ended.
	Disconnects   int           `json:"disconnects"`
	BrokerProcess BrokerProcess `json:"brokerProcess"`
	Interrupted   bool          `json:"interrupted"`
	// Failures say why the run failed; Passed is true when there are none.
	Failures []string `json:"failures"`
	Passed   bool     `json:"passed"`

	sendStart       time.Duration
	sendError       string
	disconnectError string
}

// Params are the run's parameters.
type Params struct {
	Peers           int     `json:"peers"`
	Senders         int     `json:"senders"`
	Receivers       int     `json:"receivers"`
	DurationSeconds float64 `json:"durationSeconds"`
	Rate            float64 `json:"rate"`
	Messages        int     `json:"messagesPerSender"`
	Inflight        int     `json:"inflight"`
}

// ConnectStats describe a round of connections.
type ConnectStats struct {
	Connections  int      `json:"connections"`
	Failures     int      `json:"failures"`
	Seconds      float64  `json:"seconds"`
	PerSecond    float64  `json:"perSecond"`
	HelloLatency *Latency `json:"helloLatencyMs"`
	FirstError   string   `json:"firstError,omitempty"`
}

// ReminderStats are what a remind run measured.
type ReminderStats struct {
	// Scheduled counts the reminders the broker acked; Fired those that
	// arrived, intact, as reminders, at the peer that scheduled them (each
	// counted once), and Lost the difference.
	Scheduled int64 `json:"scheduled"`
	Fired     int64 `json:"fired"`
	Lost      int64 `json:"lost"`
	// Duplicates counts reminders that fired again after they arrived
	// (a new message for the same schedule: not a redelivery).
	Duplicates int64 `json:"duplicates"`
	// Early counts fires more than 1 ms before their due time; Corrupt
	// fires whose text was not one the peer scheduled.
	Early   int64 `json:"early"`
	Corrupt int64 `json:"corrupt"`
	// AckedAfterDue counts schedules the broker acked only after their due
	// time: their lateness includes the scheduling, so the window should
	// start later (a longer Duration).
	AckedAfterDue int64 `json:"ackedAfterDue"`
	// Refused counts schedules the broker refused, by error code;
	// ScheduleErrors those with no answer.
	Refused        int64              `json:"refused"`
	RefusedBy      map[string]Refusal `json:"refusedBy,omitempty"`
	ScheduleErrors int64              `json:"scheduleErrors"`
	// ScheduleSeconds is how long scheduling them all took; the reminders
	// were due from FirstDueSeconds to LastDueSeconds after it started.
	ScheduleSeconds float64 `json:"scheduleSeconds"`
	FirstDueSeconds float64 `json:"firstDueSeconds"`
	LastDueSeconds  float64 `json:"lastDueSeconds"`
	// Lateness is arrival minus due time, one sample per fired reminder.
	Lateness *Latency `json:"latenessMs"`

	scheduleError string
}

// Refusal counts the sends refused for one reason, with one message.
type Refusal struct {
	Count   int64  `json:"count"`
	Example string `json:"example"`
}

// BrokerProcess is the broker's memory, when it runs on this machine and
// its process is visible.
type BrokerProcess struct {
	PID          int   `json:"pid,omitempty"`
	RSSBytes     int64 `json:"rssBytes,omitempty"`
	PeakRSSBytes int64 `json:"peakRssBytes,omitempty"`
	// RSS is RSSBytes for people ("52.1 MiB"), or "unknown".
	RSS string `json:"rss"`
	// Note says why the RSS is unknown.
	Note string `json:"note,omitempty"`
}

// Latency summarizes durations, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summarize sorts samples in place and summarizes them; it returns nil for
// no samples.
func Summarize(samples []time.Duration) *Latency {
	if len(samples) == 0 {
		return nil
	}
	slices.Sort(samples)
	var sum float64
	for _, s := range samples {
		sum += float64(s)
	}
	return &Latency{
		Count: len(samples),
		P50:   ms(Percentile(samples, 50)),
		P90:   ms(Percentile(samples, 90)),
		P95:   ms(Percentile(samples, 95)),
		P99:   ms(Percentile(samples, 99)),
		Max:   ms(samples[len(samples)-1]),
		Mean:  ms(time.Duration(sum / float64(len(samples)))),
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted samples
// by the nearest-rank method: the smallest sample that at least p percent
// of the samples do not exceed. It returns 0 for no samples; p ≤ 0 gives
// the smallest sample.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*1000) / 1000
}

func newReport(cfg Config) *Report {
	senders := cfg.senders()
	receivers := senders
	switch cfg.Scenario {
	case ScenarioBroadcast:
		receivers = len(cfg.Members) - 1
	case ScenarioConnect:
		receivers = 0
	}
	return &Report{
		Scenario: cfg.Scenario,
		Broker:   cfg.BrokerURL,
		Mesh:     cfg.Mesh,
		Params: Params{
			Peers:           len(cfg.Members),
			Senders:         senders,
			Receivers:       receivers,
			DurationSeconds: cfg.Duration.Seconds(),
			Rate:            cfg.Rate,
			Messages:        cfg.Messages,
			Inflight:        cfg.Inflight,
		},
		Failures: []string{},
	}
}

func (rep *Report) addRefused(reason string, n int64, example string) {
	if rep.RefusedBy == nil {
		rep.RefusedBy = map[string]Refusal{}
	}
	r := rep.RefusedBy[reason]
	r.Count += n
	if r.Example == "" {
		r.Example = example
	}
	rep.RefusedBy[reason] = r
	rep.Refused += n
}

// finish works out the losses and the failures.
func (rep *Report) finish() {
	rep.Lost = max(0, rep.Expected-rep.Delivered)
	fail := func(format string, args ...any) { rep.Failures = append(rep.Failures, fmt.Sprintf(format, args...)) }
	if rep.Lost > 0 {
		what := "messages"
		if rep.Scenario == ScenarioBroadcast {
			what = "broadcast copies"
		}
		fail("LOST: %d of %d acked %s never arrived", rep.Lost, rep.Expected, what)
	}
	for _, reason := range slices.Sorted(maps.Keys(rep.RefusedBy)) {
		r := rep.RefusedBy[reason]
		fail("%d sends refused by the broker (%s)%s", r.Count, r.Example, refusalHint(reason))
	}
	if rep.SendErrors > 0 {
		fail("%d sends got no answer from the broker: %s", rep.SendErrors, rep.sendError)
	}
	if rep.Corrupt > 0 {
		fail("%d pushes did not open or had altered content", rep.Corrupt)
	}
	if rep.Unexpected > 0 {
		fail("%d pushes reached a peer they were not sent to", rep.Unexpected)
	}
	for _, st := range []*ConnectStats{&rep.Connect, rep.Reconnect} {
		if st != nil && st.Failures > 0 {
			fail("%d of %d peers could not connect: %s%s", st.Failures, st.Failures+st.Connections, st.FirstError, connectHint(st.FirstError))
		}
	}
	if rep.Disconnects > 0 {
		fail("the broker dropped %s during the run: %s", plural(rep.Disconnects, "peer"), rep.disconnectError)
	}
	if rep.sendsMessages() && rep.Sent == 0 && !rep.Interrupted {
		fail("no send was acked")
	}
	if rs := rep.Reminders; rs != nil {
		rep.Failures = append(rep.Failures, rs.finish(rep.Interrupted)...)
	}
	if rep.Interrupted {
		fail("interrupted: the figures cover only what was measured before the interrupt")
	}
	rep.Passed = len(rep.Failures) == 0
}

// refusalHint says what to do about a refusal reason.
func refusalHint(reason string) string {
	switch reason {
	case "loop_guard":
		return "; the broker's loop guard holds direct messages between two members past its limit (50 a minute by default): benchmark a broker started with a higher --loop-guard-max"
	case "rate_limit":
		return "; the mesh's send rate is below this load"
	}
	return ""
}

// connectHint says what to do about a connection failure.
func connectHint(msg string) string {
	if strings.Contains(msg, "capacity") {
		return "; the broker caps the sessions of one mesh (100 by default): benchmark a broker started with a higher --max-connections-per-mesh, or use fewer --peers"
	}
	return ""
}

// WriteTable writes the report for people.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		_, _ = fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...))
	}
	row("scenario", "%s", describe(rep))
	row("broker", "%s (mesh %s)", rep.Broker, rep.Mesh)
	row("broker RSS", "%s", rssText(rep.BrokerProcess))
	writeConnect(row, "peers connected", rep.Connect)
	if rep.Reconnect != nil {
		writeConnect(row, "reconnected", *rep.Reconnect)
	}
	if rep.Scenario == ScenarioConnect {
		row("held idle", "%.1fs (%d broker events reached the peers meanwhile)", rep.HoldSeconds, rep.SystemEvents)
	}
	if rs := rep.Reminders; rs != nil {
		writeReminders(row, rs)
	}
	if rep.sendsMessages() {
		row("sent (acked)", "%d in %.2fs", rep.Sent, rep.SendSeconds)
		pct := 100.0
		if rep.Expected > 0 {
			pct = 100 * float64(rep.Delivered) / float64(rep.Expected)
		}
		row("delivered/sent", "%d / %d (%.2f%%)", rep.Delivered, rep.Expected, pct)
		if rep.Scenario == ScenarioOfflineDrain {
			row("drain", "%.3fs from hello to the last push (%.0f msg/s)", rep.DrainSeconds, rep.MessagesPerSecond)
		} else {
			row("throughput", "%.0f msg/s (first send to last push: %.2fs)", rep.MessagesPerSecond, rep.ElapsedSeconds)
		}
		what := "latency (ms)"
		if rep.Scenario == ScenarioOfflineDrain {
			what = "hello→push (ms)"
		}
		row(what, "%s", latencyText(rep.Latency))
		if rep.Refused > 0 || rep.SendErrors > 0 {
			row("refused / no answer", "%d / %d", rep.Refused, rep.SendErrors)
		}
		row("duplicates", "%d", rep.Duplicates)
	}
	if rep.Disconnects > 0 {
		row("dropped by broker", "%d", rep.Disconnects)
	}
	if rep.Passed {
		row("result", "PASS")
	} else {
		row("result", "FAIL")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range rep.Failures {
		if _, err := fmt.Fprintf(w, "FAIL: %s\n", f); err != nil {
			return err
		}
	}
	return nil
}

func writeConnect(row func(k, format string, args ...any), label string, st ConnectStats) {
	row(label, "%d in %.2fs (%.0f/s), hello %s", st.Connections, st.Seconds, st.PerSecond, latencyText(st.HelloLatency))
}

func describe(rep *Report) string {
	p := rep.Params
	pace := "as fast as possible"
	if p.Rate > 0 {
		pace = fmt.Sprintf("%g msg/s in all", p.Rate)
	}
	amount := fmt.Sprintf("for %s", time.Duration(p.DurationSeconds*float64(time.Second)))
	if p.Messages > 0 {
		amount = fmt.Sprintf("%d messages per sender", p.Messages)
	}
	switch rep.Scenario {
	case ScenarioDM:
		return fmt.Sprintf("dm: %s, %d in flight per sender, %s, %s", plural(p.Senders, "pair"), p.Inflight, pace, amount)
	case ScenarioBroadcast:
		return fmt.Sprintf("broadcast: 1 sender to %s, %d in flight, %s, %s", plural(p.Receivers, "receiver"), p.Inflight, pace, amount)
	case ScenarioOfflineDrain:
		return fmt.Sprintf("offline-drain: %s offline, %s each, then reconnected", plural(p.Receivers, "receiver"), plural(p.Messages, "message"))
	case ScenarioRemind:
		window := time.Duration(p.DurationSeconds * float64(time.Second))
		load := "no other load"
		if p.Rate > 0 {
			load = fmt.Sprintf("dm load of %g msg/s between %s meanwhile", p.Rate, plural(p.Senders, "pair"))
		}
		return fmt.Sprintf("remind: %s, %d reminders each to itself, due %s–%s ahead; %s",
			plural(p.Peers, "peer"), p.Messages, window/2, window*3/2, load)
	}
	return fmt.Sprintf("connect: %s, %d at a time, held %s", plural(p.Peers, "peer"), p.Inflight, time.Duration(p.DurationSeconds*float64(time.Second)))
}

// sendsMessages reports whether the run sent messages: every scenario but
// connect, and remind only with dm load.
func (rep *Report) sendsMessages() bool {
	return rep.Scenario != ScenarioConnect && (rep.Scenario != ScenarioRemind || rep.Params.Rate > 0)
}

// finish works out the lost reminders and says what went wrong with them.
func (rs *ReminderStats) finish(interrupted bool) []string {
	var out []string
	fail := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	rs.Lost = max(0, rs.Scheduled-rs.Fired)
	if rs.Lost > 0 {
		fail("LOST: %d of %d scheduled reminders never fired", rs.Lost, rs.Scheduled)
	}
	if rs.Duplicates > 0 {
		fail("%d reminders fired more than once", rs.Duplicates)
	}
	if rs.Early > 0 {
		fail("%d reminders fired before they were due", rs.Early)
	}
	if rs.Corrupt > 0 {
		fail("%d reminder pushes did not decode or had altered content", rs.Corrupt)
	}
	if rs.AckedAfterDue > 0 {
		fail("%d schedules were acked after their due time, so their lateness includes scheduling: use a longer --duration or fewer reminders", rs.AckedAfterDue)
	}
	for _, code := range slices.Sorted(maps.Keys(rs.RefusedBy)) {
		r := rs.RefusedBy[code]
		fail("%d schedules refused by the broker (%s: %s)", r.Count, code, r.Example)
	}
	if rs.ScheduleErrors > 0 {
		fail("%d schedules got no answer from the broker: %s", rs.ScheduleErrors, rs.scheduleError)
	}
	if rs.Scheduled == 0 && !interrupted {
		fail("no reminder was scheduled")
	}
	return out
}

func writeReminders(row func(k, format string, args ...any), rs *ReminderStats) {
	row("reminders", "%d scheduled in %.2fs, due %.1fs–%.1fs after", rs.Scheduled, rs.ScheduleSeconds, rs.FirstDueSeconds, rs.LastDueSeconds)
	pct := 100.0
	if rs.Scheduled > 0 {
		pct = 100 * float64(rs.Fired) / float64(rs.Scheduled)
	}
	row("fired/scheduled", "%d / %d (%.2f%%)", rs.Fired, rs.Scheduled, pct)
	row("lateness (ms)", "%s", latencyText(rs.Lateness))
	row("fired twice / early", "%d / %d", rs.Duplicates, rs.Early)
}

func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func latencyText(l *Latency) string {
	if l == nil {
		return "no samples"
	}
	return fmt.Sprintf("p50 %.2f  p90 %.2f  p95 %.2f  p99 %.2f  max %.2f  mean %.2f ms (%d samples)", l.P50, l.P90, l.P95, l.P99, l.Max, l.Mean, l.Count)
}

func rssText(b BrokerProcess) string {
	if b.RSSBytes == 0 {
		return "unknown (" + b.Note + ")"
	}
	return fmt.Sprintf("%s (peak %s, pid %d)", b.RSS, mib(b.PeakRSSBytes), b.PID)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
