package mesh

import "testing"

// TestSendOrderNewSocket: a send that fails before it waited its turn can be
// the first one of a new socket; the socket's next send must not wait for
// it.
func TestSendOrderNewSocket(t *testing.T) {
	t.Parallel()
	var o sendOrder
	first := sendTicket{order: &o, epoch: "a", seq: 1}
	if _, mine := o.turn(first); !mine {
		t.Fatal("the first send of a socket goes at once")
	}
	first.done()

	// A new socket: its first send is refused early (done without turn).
	refused := sendTicket{order: &o, epoch: "b", seq: 1}
	refused.done()
	if _, mine := o.turn(sendTicket{order: &o, epoch: "b", seq: 2}); !mine {
		t.Fatal("the second send of the new socket waits for the refused first one")
	}
	// Out of order: 4 waits for 3.
	if _, mine := o.turn(sendTicket{order: &o, epoch: "b", seq: 4}); mine {
		t.Fatal("send 4 went before send 3")
	}
}
