package fix_test

import (
	"testing"
)

func TestSmoke(t *testing.T) {
	e := newEnv(t)
	a := e.client("BANKA")
	a.send(nos("s1", "55=USD/CNY|54=1|38=1000000|40=2|44=7.1000"))
	er := a.expect("35=8|11=s1|150=0|39=0")
	t.Log(er)
}
