/**
 * linuxptp for a datacenter PTP network: ptp4l as an ordinary, slave-only clock disciplining the NIC's
 * PHC from the network grandmaster, and phc2sys handing the PHC to chrony through its SHM refclock
 * (`-E ntpshm`) rather than steering the system clock itself — chrony stays the one daemon that
 * disciplines CLOCK_REALTIME, so PTP and NTP sources are voted together, never fought over.
 */
import type { PtpNetworkConfig } from "../config/time.js";
import { PTP_SHM_SEGMENT } from "./hierarchy.js";

const PTP4L_CONF_PATH = "/etc/linuxptp/ptp4l.conf";

export function renderPtp4lConf(network: PtpNetworkConfig): string {
  return [
    "# ptp4l configuration rendered by Meridian: ordinary clock, slave only.",
    "[global]",
    "slaveOnly 1",
    `domainNumber ${network.domainNumber}`,
    `network_transport ${network.transport}`,
    `time_stamping ${network.timestamping}`,
    "delay_mechanism E2E",
    "summary_interval 4",
    "",
    `[${network.interface}]`,
    "",
  ].join("\n");
}

export function ptp4lArgs(network: PtpNetworkConfig): string[] {
  return ["-f", PTP4L_CONF_PATH, "-i", network.interface, "-s", network.transport === "L2" ? "-2" : "-4", network.timestamping === "hardware" ? "-H" : "-S", "-m"];
}

export function phc2sysArgs(network: PtpNetworkConfig): string[] {
  return ["-a", "-r", "-E", "ntpshm", "-M", String(PTP_SHM_SEGMENT), "-n", String(network.domainNumber), "-m"];
}
