// qfclient: a scripted FIX 4.4 initiator built on QuickFIX C++ (Debian's
// libquickfix-dev), used by the venue's end-to-end tests as an independent
// FIX engine: the session layer (logon, heartbeats, sequence numbers,
// resends, validation against the venue's published data dictionary) is
// QuickFIX's, not ours.
//
// Usage: qfclient HOST PORT SENDER PASSWORD STOREDIR DICTIONARY [key=value ...]
//   extra settings go into the session's settings (HeartBtInt=30,
//   ResetOnLogon=Y, ...).
//
// Standard input, one command a line:
//   send 35=D|11=c1|55=USD/CNY|54=1|...   send an application message; the
//                                         header is filled by the session.
//                                         Repeating groups are written
//                                         flat: 146=2|55=USD/CNY|55=EUR/USD
//   logout                                 log out (the process keeps running)
//   quit                                   stop and exit
// Standard output, one event a line (SOH shown as |):
//   logon | logout | create
//   recv <message>       every message received, admin and application
//   sent <message>       every message sent
//   error <text>
#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/FileStore.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>

#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

static std::mutex out_mu;

static void emit(const std::string &kind, const std::string &text) {
  std::lock_guard<std::mutex> lock(out_mu);
  std::string t = text;
  for (auto &c : t)
    if (c == '\001') c = '|';
  std::cout << kind;
  if (!t.empty()) std::cout << " " << t;
  std::cout << std::endl;
}

class App : public FIX::Application {
 public:
  explicit App(std::string password) : password_(std::move(password)) {}
  void onCreate(const FIX::SessionID &) override { emit("create", ""); }
  void onLogon(const FIX::SessionID &) override { emit("logon", ""); }
  void onLogout(const FIX::SessionID &) override { emit("logout", ""); }
  void toAdmin(FIX::Message &m, const FIX::SessionID &) override {
    FIX::MsgType t;
    m.getHeader().getField(t);
    if (t.getValue() == "A" && !password_.empty()) m.setField(554, password_);
    emit("sent", m.toString());
  }
  void toApp(FIX::Message &m, const FIX::SessionID &) throw(FIX::DoNotSend) override {
    emit("sent", m.toString());
  }
  void fromAdmin(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) override {
    emit("recv", m.toString());
  }
  void fromApp(const FIX::Message &m, const FIX::SessionID &) throw(
      FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::UnsupportedMessageType) override {
    emit("recv", m.toString());
  }

 private:
  std::string password_;
};

// The repeating groups the tests send, by count tag: the delimiter (first
// field of each entry) and the fields an entry may hold. A field that is
// not a member ends the group.
struct GroupSpec {
  int delim;
  std::vector<int> members;
};
static const std::map<int, GroupSpec> kGroups = {
    {267, {269, {269}}},            // NoMDEntryTypes
    {146, {55, {55, 65, 48, 22}}},  // NoRelatedSym
    {453, {448, {448, 447, 452}}},  // NoPartyIDs
};

static bool member(const GroupSpec &g, int tag) {
  for (int m : g.members)
    if (m == tag) return true;
  return false;
}

static bool build(const std::string &spec, FIX::Message &msg, std::string &err) {
  std::vector<std::pair<int, std::string>> fields;
  std::stringstream ss(spec);
  std::string tok;
  while (std::getline(ss, tok, '|')) {
    if (tok.empty()) continue;
    auto eq = tok.find('=');
    if (eq == std::string::npos) {
      err = "field without '=': " + tok;
      return false;
    }
    fields.emplace_back(std::stoi(tok.substr(0, eq)), tok.substr(eq + 1));
  }
  for (size_t i = 0; i < fields.size(); i++) {
    int tag = fields[i].first;
    const std::string &val = fields[i].second;
    if (tag == 35) {
      msg.getHeader().setField(35, val);
      continue;
    }
    auto g = kGroups.find(tag);
    if (g == kGroups.end()) {
      msg.setField(tag, val);
      continue;
    }
    int count = std::stoi(val);
    const GroupSpec &gs = g->second;
    for (int n = 0; n < count; n++) {
      if (i + 1 >= fields.size() || fields[i + 1].first != gs.delim) {
        err = "group " + std::to_string(tag) + " entry " + std::to_string(n) + " does not start with " +
              std::to_string(gs.delim);
        return false;
      }
      FIX::Group grp(tag, gs.delim);
      i++;
      grp.setField(fields[i].first, fields[i].second);
      while (i + 1 < fields.size() && fields[i + 1].first != gs.delim && member(gs, fields[i + 1].first)) {
        i++;
        grp.setField(fields[i].first, fields[i].second);
      }
      msg.addGroup(grp);
    }
  }
  return true;
}

int main(int argc, char **argv) {
  if (argc < 7) {
    std::cerr << "usage: qfclient HOST PORT SENDER PASSWORD STOREDIR DICTIONARY [key=value ...]" << std::endl;
    return 2;
  }
  std::string host = argv[1], port = argv[2], sender = argv[3], password = argv[4], store = argv[5],
              dict = argv[6];
  try {
    FIX::SessionSettings settings;
    FIX::Dictionary d;
    d.setString("ConnectionType", "initiator");
    d.setString("SocketConnectHost", host);
    d.setString("SocketConnectPort", port);
    d.setString("HeartBtInt", "30");
    d.setString("StartTime", "00:00:00");
    d.setString("EndTime", "00:00:00");
    d.setString("FileStorePath", store);
    d.setString("UseDataDictionary", "Y");
    d.setString("DataDictionary", dict);
    d.setString("ReconnectInterval", "1");
    d.setString("ValidateUserDefinedFields", "N");
    d.setString("AllowUnknownMsgFields", "N");
    for (int i = 7; i < argc; i++) {
      std::string kv = argv[i];
      auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "bad setting " << kv << std::endl;
        return 2;
      }
      d.setString(kv.substr(0, eq), kv.substr(eq + 1));
    }
    FIX::SessionID sid("FIX.4.4", sender, "FXMATCH");
    settings.set(sid, d);
    App app(password);
    FIX::FileStoreFactory storeFactory(settings);
    FIX::SocketInitiator initiator(app, storeFactory, settings);
    initiator.start();
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "quit") break;
      if (line == "logout") {
        FIX::Session *s = FIX::Session::lookupSession(sid);
        if (s) s->logout("bye");
        continue;
      }
      if (line.rfind("send ", 0) == 0) {
        FIX::Message msg;
        std::string err;
        if (!build(line.substr(5), msg, err)) {
          emit("error", err);
          continue;
        }
        try {
          if (!FIX::Session::sendToTarget(msg, sid)) emit("error", "send failed (not logged on?)");
        } catch (std::exception &e) {
          emit("error", e.what());
        }
        continue;
      }
      emit("error", "unknown command: " + line);
    }
    initiator.stop(true);
  } catch (std::exception &e) {
    emit("error", e.what());
    return 1;
  }
  return 0;
}
