/* sink_dgram: being written. */
